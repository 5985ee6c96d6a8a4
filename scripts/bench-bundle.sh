#!/usr/bin/env bash
# bench-bundle.sh — the cost of an incident: daemon peak RSS, time and disk of
# one `arpbox snapshot` on a ring filled by the storm generator.
#
# Two network namespaces joined by a veth; arpbox records the rx side while
# arpstorm (one sender, targets cycling through 10.66.0.0/16) fills its ring.
# When the storm has stopped and arpbox has written what it captured, the
# script reads arpbox's VmHWM and VmRSS from /proc, runs `arpbox snapshot`
# (window: everything in the ring before T, 1 s after), reads VmHWM again,
# and prints one row per case:
#
#   window  frames  RSS before  peak RSS  time to bundle  bundle dir  zip
#
# "peak RSS" is the daemon's VmHWM after the snapshot; the VmHWM before it is
# also printed (the capture's own peak while the ring was filled). "time to
# bundle" is the wall time of `arpbox snapshot`, including the 1 s after T
# and the 3.5 s the snapshotter lets the kernel hand over the last frames;
# "CPU" is the user + sys seconds the daemon used meanwhile (on a shared box
# the wall time swings with the load; the CPU seconds much less).
#
# Usage (as root, from anywhere in the repo):
#   scripts/bench-bundle.sh                 # 15 s and 2 min at 5 k fps (real time)
#   scripts/bench-bundle.sh -big            # also the 1 GiB ring (128 x 8 MiB segments; ~4 GiB of disk)
#   scripts/bench-bundle.sh -fast           # send the 2 min case's frames at full speed (same count)
#   scripts/bench-bundle.sh -cases 15s      # one case: 15s, 2m, 1GiB (comma separated)
#   scripts/bench-bundle.sh -arpbox PATH    # a built arpbox (default: go build ./cmd/arpbox)
#   scripts/bench-bundle.sh -keep           # keep the work dir (ring, bundles, logs)
set -euo pipefail

die() { echo "bench-bundle: $*" >&2; exit 1; }
log() { echo "# $*" >&2; }

CASES="15s,2m"
FAST=0
ARPBOX=""
ARPSTORM=""
KEEP=0
while [[ $# -gt 0 ]]; do
	case "$1" in
	-big) CASES="15s,2m,1GiB"; shift ;;
	-fast) FAST=1; shift ;;
	-cases) CASES=${2:?-cases needs a list}; shift 2 ;;
	-arpbox) ARPBOX=${2:?-arpbox needs a path}; shift 2 ;;
	-arpstorm) ARPSTORM=${2:?-arpstorm needs a path}; shift 2 ;;
	-keep) KEEP=1; shift ;;
	-h | -help | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument $1 (try -h)" ;;
	esac
done
[[ $(id -u) -eq 0 ]] || die "must run as root (network namespaces, AF_PACKET)"
for t in ip capinfos du awk; do command -v $t >/dev/null || die "missing tool: $t"; done

# shellcheck source=lib/lab.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/lab.sh"
lab_init abxbb /var/tmp

GO=$(command -v go || echo /usr/local/go/bin/go)
mkdir -p "$WORK/bin"
if [[ -z $ARPBOX ]]; then
	log "building arpbox"
	(cd "$REPO" && "$GO" build -o "$WORK/bin/arpbox" ./cmd/arpbox) || die "go build ./cmd/arpbox failed"
	ARPBOX=$WORK/bin/arpbox
fi
if [[ -z $ARPSTORM ]]; then
	log "building arpstorm"
	(cd "$REPO" && "$GO" build -o "$WORK/bin/arpstorm" ./cmd/arpstorm) || die "go build ./cmd/arpstorm failed"
	ARPSTORM=$WORK/bin/arpstorm
fi

lab_up

# cpu_s PID: user + sys CPU seconds the process has used (all threads).
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"; }
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN {printf "%.0f", k / 1024}'; }

# run_case NAME: fill a fresh ring, snapshot it, print the row.
run_case() {
	local name=$1 dir=$WORK/$1 count rate seg=8MiB
	case $name in
	15s) count=75000 rate=5000 ;;
	2m) count=600000 rate=5000; ((FAST)) && rate=0 ;;
	1GiB) count=0 rate=0 ;;
	*) die "unknown case $name (15s, 2m, 1GiB)" ;;
	esac
	mkdir -p "$dir/ring" "$dir/snap" "$dir/data"
	cat >"$dir/arpbox.yaml" <<YAML
data_dir: $dir/data
capture:
  interfaces: [$IF_RX]
  filter: arp
ring:
  dir: $dir/ring
  segment_size: $seg
  segment_duration: 60m
  max_size: 1GiB
  max_segments: 0
  min_free: 1%
snapshots:
  dir: $dir/snap
  before: 60m
  after: 1s
  cooldown: 0s
  max_size: 20GiB
control:
  socket: $dir/data/arpbox.sock
triggers: []
YAML
	ip netns exec "$NS_RX" "$ARPBOX" run -config "$dir/arpbox.yaml" >"$dir/arpbox.log" 2>&1 &
	local pid=$!
	PIDS+=("$pid")
	for _ in $(seq 200); do grep -q "arpbox recording" "$dir/arpbox.log" && break; sleep 0.05; done
	grep -q "arpbox recording" "$dir/arpbox.log" || { cat "$dir/arpbox.log" >&2; die "arpbox did not start"; }
	local idle_kb
	idle_kb=$(status_kb "$pid" VmRSS)
	log "$name: storming (count=${count:-until 1 GiB} rate=$rate)"
	if [[ $name == 1GiB ]]; then
		ip netns exec "$NS_TX" "$ARPSTORM" -i "$IF_TX" -duration 600s -src-ip 10.66.1.1 -target-range 10.66.0.0/16 >"$dir/storm.out" 2>&1 &
		local spid=$!
		PIDS+=("$spid")
		# 128 segments of 8 MiB: stop once the ring's 129th segment started.
		while (($(ls "$dir/ring" | wc -l) < 129)); do
			kill -0 "$spid" 2>/dev/null || die "arpstorm stopped early"
			sleep 0.5
		done
		kill -TERM "$spid"
		wait "$spid" || true
	else
		ip netns exec "$NS_TX" "$ARPSTORM" -i "$IF_TX" -count "$count" -rate "$rate" -src-ip 10.66.1.1 -target-range 10.66.0.0/16 >"$dir/storm.out" 2>&1
	fi
	sleep 3 # let arpbox write its last capture block
	local before_hwm before_rss t0 t1 after_hwm c0 c1
	before_hwm=$(status_kb "$pid" VmHWM)
	before_rss=$(status_kb "$pid" VmRSS)
	c0=$(cpu_s "$pid")
	t0=$(date +%s.%N)
	"$ARPBOX" snapshot -socket "$dir/data/arpbox.sock" -reason "bench-bundle $name" >"$dir/snapshot.out" 2>"$dir/snapshot.err" ||
		{ cat "$dir/snapshot.err" >&2; die "$name: arpbox snapshot failed"; }
	t1=$(date +%s.%N)
	c1=$(cpu_s "$pid")
	after_hwm=$(status_kb "$pid" VmHWM)
	local bdir zip frames ddu zdu ringdu
	bdir=$(sed -n 1p "$dir/snapshot.out")
	zip=$(sed -n 2p "$dir/snapshot.out")
	frames=$(awk -F: '/"packets"/ {gsub(/[ ,]/, "", $2); print $2; exit}' "$bdir/manifest.json")
	ringdu=$(du -sm "$dir/ring" | awk '{print $1}')
	ddu=$(du -sm "$bdir" | awk '{print $1}')
	zdu=$(du -sm "$zip" | awk '{print $1}')
	kill -TERM "$pid"
	wait "$pid" || true
	printf '%-6s %9s %8s MiB %9s MiB %7s MiB %9s MiB %8.1f s %7.1f s %8s MiB %6s MiB\n' \
		"$name" "$frames" "$ringdu" "$(mib "$idle_kb")" "$(mib "$before_hwm")" "$(mib "$after_hwm")" \
		"$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" "$(awk -v a="$c0" -v b="$c1" 'BEGIN {print b - a}')" \
		"$ddu" "$zdu" >>"$WORK/rows"
	log "$name: load average $(cut -d' ' -f1-3 /proc/loadavg)"
	ls -l "$bdir" >&2
	((KEEP)) || rm -rf "$dir/ring" "$dir/snap" # disk: the next case starts empty
}

IFS=, read -r -a CS <<<"$CASES"
for c in "${CS[@]}"; do run_case "$c"; done
printf '%-6s %9s %12s %13s %13s %11s %10s %9s %12s %10s\n' case frames ring "idle RSS" "HWM before" "peak RSS" "to bundle" "CPU" "bundle dir" zip
cat "$WORK/rows"
