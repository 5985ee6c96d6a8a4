#!/usr/bin/env bash
# soak.sh — does arpbox stay flat over time? A steady ARP stream at 5 k
# frames/s, the ring rotating every second, and a snapshot every 20 s, for
# 10 minutes; open file descriptors, threads and RSS of the daemon are
# printed at the start (after 10 s) and at the end, with the snapshots
# written and failed and the ring's counters.
#
# Two network namespaces joined by a veth; arpbox records the rx side while
# arpstorm sends on the tx side.
#
# Usage (as root, from anywhere in the repo):
#   scripts/soak.sh                # 10 minutes
#   scripts/soak.sh -short         # 1 minute
#   scripts/soak.sh -arpbox PATH   # a built arpbox (default: go build ./cmd/arpbox)
#   scripts/soak.sh -keep          # keep the work dir (ring, bundles, log)
set -euo pipefail

die() { echo "soak: $*" >&2; exit 1; }
log() { echo "# $*" >&2; }

DURATION=600
ARPBOX=""
KEEP=0
while [[ $# -gt 0 ]]; do
	case "$1" in
	-short) DURATION=60; shift ;;
	-arpbox) ARPBOX=${2:?-arpbox needs a path}; shift 2 ;;
	-keep) KEEP=1; shift ;;
	-h | -help | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument $1 (try -h)" ;;
	esac
done
[[ $(id -u) -eq 0 ]] || die "must run as root (network namespaces, AF_PACKET)"
for t in ip awk; do command -v $t >/dev/null || die "missing tool: $t"; done

# shellcheck source=lib/lab.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/lab.sh"
lab_init abxsk /var/tmp

GO=$(command -v go || echo /usr/local/go/bin/go)
mkdir -p "$WORK/bin" "$WORK/ring" "$WORK/snap" "$WORK/data"
if [[ -z $ARPBOX ]]; then
	log "building arpbox"
	(cd "$REPO" && "$GO" build -o "$WORK/bin/arpbox" ./cmd/arpbox) || die "go build ./cmd/arpbox failed"
	ARPBOX=$WORK/bin/arpbox
fi
log "building arpstorm"
(cd "$REPO" && "$GO" build -o "$WORK/bin/arpstorm" ./cmd/arpstorm) || die "go build ./cmd/arpstorm failed"

lab_up

cat >"$WORK/arpbox.yaml" <<YAML
data_dir: $WORK/data
capture:
  interfaces: [$IF_RX]
  filter: arp
ring:
  dir: $WORK/ring
  segment_size: 8MiB
  segment_duration: 1s
  max_size: 64MiB
  min_free: 1%
snapshots:
  dir: $WORK/snap
  before: 30s
  after: 1s
  cooldown: 0s
  max_count: 5
  max_size: 1GiB
control:
  socket: $WORK/data/arpbox.sock
triggers: []
YAML
ip netns exec "$NS_RX" "$ARPBOX" run -config "$WORK/arpbox.yaml" >"$WORK/arpbox.log" 2>&1 &
PID=$!
PIDS+=("$PID")
for _ in $(seq 200); do grep -q "arpbox recording" "$WORK/arpbox.log" && break; sleep 0.05; done
grep -q "arpbox recording" "$WORK/arpbox.log" || { cat "$WORK/arpbox.log" >&2; die "arpbox did not start"; }

ip netns exec "$NS_TX" "$WORK/bin/arpstorm" -i "$IF_TX" -rate 5000 -duration "$((DURATION + 15))s" \
	-src-ip 10.66.1.1 -target-range 10.66.0.0/16 >"$WORK/storm.out" 2>&1 &
PIDS+=("$!")

# sample: fds threads rss_kib
sample() {
	echo "$(ls "/proc/$PID/fd" | wc -l) $(awk '$1 == "Threads:" {print $2}' "/proc/$PID/status") $(awk '$1 == "VmRSS:" {print $2}' "/proc/$PID/status")"
}
sleep 10
read -r FD0 TH0 RSS0 < <(sample)
log "start: fds $FD0, threads $TH0, RSS $RSS0 KiB; soaking for ${DURATION}s"
ok=0 failed=0
start=$(date +%s)
while (($(date +%s) - start < DURATION)); do
	sleep 20
	if "$ARPBOX" snapshot -socket "$WORK/data/arpbox.sock" -reason soak >/dev/null 2>>"$WORK/snapshot.err"; then
		ok=$((ok + 1))
	else
		failed=$((failed + 1))
	fi
	read -r fd th rss < <(sample)
	log "$(($(date +%s) - start))s: fds $fd, threads $th, RSS $rss KiB, snapshots $ok written, $failed failed"
done
read -r FD1 TH1 RSS1 < <(sample)
STATUS=$("$ARPBOX" status -socket "$WORK/data/arpbox.sock" || true)
kill -TERM "$PID"
wait "$PID" || die "arpbox exited with an error: $(tail -5 "$WORK/arpbox.log")"
printf '%-10s %6s %8s %10s\n' when fds threads "RSS KiB"
printf '%-10s %6s %8s %10s\n' start "$FD0" "$TH0" "$RSS0"
printf '%-10s %6s %8s %10s\n' end "$FD1" "$TH1" "$RSS1"
echo "snapshots: $ok written, $failed failed; bundles kept: $(ls -d "$WORK"/snap/2* 2>/dev/null | grep -vc zip || true)"
echo "ring: $(echo "$STATUS" | tr -d '\n' | grep -o '"ring": *{[^}]*}' || echo "$STATUS" | head -c 400)"
echo "errors logged: $(grep -c 'level=ERROR' "$WORK/arpbox.log" || true)"
