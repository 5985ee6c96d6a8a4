#!/usr/bin/env bash
# bench-storm.sh — ARP storm benchmark: arpbox vs tcpdump, same run, same storm.
#
# Two network namespaces joined by a veth. arpstorm sender processes blast ARP
# who-has frames from the tx side; on the rx side each recorder runs in turn
# (arpbox, then tcpdump) while a fresh storm of the same shape passes. For each
# recorder it prints frames sent, captured, loss, CPU seconds and peak RSS.
#
# Usage (as root, from anywhere in the repo):
#   scripts/bench-storm.sh                          # 2 senders, max rate, 10 s
#   scripts/bench-storm.sh -senders 1 -duration 5
#   scripts/bench-storm.sh -rate 300000             # total frames/s across senders
#   scripts/bench-storm.sh -idle                    # ~10 ARP/s for 60 s, side by side: CPU ms per 10 s, RSS
#   scripts/bench-storm.sh -small-ring              # tiny ring under the storm: disk bound holds?
#   scripts/bench-storm.sh -recorders tcpdump       # only tcpdump (e.g. arpbox not built yet)
#
# Options:
#   -rate N           total frames/s across all senders; 0 = as fast as possible (default 0)
#   -duration S       storm length in seconds (default 10; 60 with -idle)
#   -senders N        arpstorm processes (default 2: the case that separates recorders)
#   -pin              pin sender i to CPU i mod nproc (default: let the scheduler place them)
#   -batch N          frames per sendmmsg call (default 128)
#   -arpbox PATH      arpbox binary (default: go build ./cmd/arpbox into the work dir)
#   -arpstorm PATH    arpstorm binary (default: go build ./cmd/arpstorm into the work dir)
#   -arpbox-buffer SZ capture.buffer_size for arpbox (default: arpbox's own default)
#   -recorders LIST   comma-separated, in order (default arpbox,tcpdump)
#   -idle             idle mode: 1 sender at 10 frames/s, the recorders side by side on the
#                     same veth, CPU per 10 s window; targets <= 2 ms CPU per 10 s, RSS < 32 MB
#   -small-ring       arpbox only, ring max_size 8MiB / segment 1MiB; du sampled every 100 ms
#   -repeat N         storm mode: run the recorder sequence N times (default 1); the
#                     ratio line uses totals over all runs (storm loss is bursty)
#   -keep             keep the work dir (captures, logs) instead of deleting it
#
# Method notes:
# - "sent" is what the senders' sendmmsg calls accepted. Frames the kernel
#   refused (ENOBUFS: rx backlog full) are reported as sender errors, never
#   reached any tap, and are not counted as recorder loss. "at rx" is the rx
#   veth's rx_packets delta: frames that were offered to the recorder.
# - CPU seconds and peak RSS come from /usr/bin/time (wait4 rusage: user+sys of
#   the recorder process for its whole life, max RSS = VmHWM). Idle mode uses
#   /proc/PID/task/*/schedstat (ns) over a window that excludes start-up.
#   sys time includes network softirq work (delivering the storm's frames)
#   that the kernel charges to whichever process is on the CPU at the time,
#   so it swings from run to run; usr_s is the recorder's own work.
# - tcpdump runs with libpcap's default buffer (2 MiB TPACKET_V3 ring; we pass
#   no -B, as a user would), -Z root, writing into the work dir.
# - Recorders are stopped with SIGTERM and waited for (never SIGKILL) before
#   their files are counted with capinfos. Before stopping, we wait until the
#   recorder's CPU use goes quiet, so frames still in its kernel ring are read.
# - Background jobs in scripts ignore SIGINT; we only ever send SIGTERM.
# - Other work on a 2-core box skews everything: before each run we wait (up
#   to $QUIET_WAIT s, default 120) until the CPUs are < 10% busy, and print
#   how busy they were (busy%).
set -euo pipefail

die() { echo "bench-storm: $*" >&2; exit 1; }
log() { echo "# $*" >&2; }

RATE=0
DURATION=""
SENDERS=2
PIN=0
BATCH=128
ARPBOX=""
ARPSTORM=""
ARPBOX_BUFFER=""
RECORDERS="arpbox,tcpdump"
MODE=storm
KEEP=0
REPEAT=1

while [[ $# -gt 0 ]]; do
	case "$1" in
	-rate) RATE=${2:?-rate needs a value}; shift 2 ;;
	-duration) DURATION=${2:?-duration needs seconds}; shift 2 ;;
	-senders) SENDERS=${2:?-senders needs a value}; shift 2 ;;
	-pin) PIN=1; shift ;;
	-batch) BATCH=${2:?-batch needs a value}; shift 2 ;;
	-arpbox) ARPBOX=${2:?-arpbox needs a path}; shift 2 ;;
	-arpstorm) ARPSTORM=${2:?-arpstorm needs a path}; shift 2 ;;
	-arpbox-buffer) ARPBOX_BUFFER=${2:?-arpbox-buffer needs a size}; shift 2 ;;
	-recorders) RECORDERS=${2:?-recorders needs a list}; shift 2 ;;
	-idle) MODE=idle; shift ;;
	-small-ring) MODE=small-ring; shift ;;
	-repeat) REPEAT=${2:?-repeat needs a count}; shift 2 ;;
	-keep) KEEP=1; shift ;;
	-h | -help | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument $1 (try -h)" ;;
	esac
done

[[ $RATE =~ ^[0-9]+$ ]] || die "-rate $RATE: want a whole number of frames/s"
[[ $SENDERS =~ ^[1-9][0-9]*$ ]] || die "-senders $SENDERS: want a positive whole number"
[[ $REPEAT =~ ^[1-9][0-9]*$ ]] || die "-repeat $REPEAT: want a positive whole number"
case $MODE in
idle)
	DURATION=${DURATION:-60}
	SENDERS=1
	RATE=10
	;;
small-ring)
	DURATION=${DURATION:-10}
	RECORDERS=arpbox
	;;
*) DURATION=${DURATION:-10} ;;
esac
[[ $DURATION =~ ^[0-9]+$ && $DURATION -gt 0 ]] || die "-duration $DURATION: want whole seconds > 0"
IFS=, read -r -a RECS <<<"$RECORDERS"
for r in "${RECS[@]}"; do
	[[ $r == arpbox || $r == tcpdump ]] || die "-recorders: unknown recorder $r (arpbox, tcpdump)"
done

# --- preflight -------------------------------------------------------------

[[ $(id -u) -eq 0 ]] || die "must run as root (network namespaces, AF_PACKET)"
missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$1 ($2)"); }
need ip "iproute2: namespaces and veths"
need capinfos "tshark/wireshark-common: counts captured frames"
need taskset "util-linux: CPU pinning"
need pgrep "procps: finds the recorder under /usr/bin/time"
need du "coreutils"
need awk "mawk or gawk"
[[ -x /usr/bin/time ]] || missing+=("/usr/bin/time (package time: CPU and peak RSS)")
for r in "${RECS[@]}"; do [[ $r == tcpdump ]] && need tcpdump "tcpdump: the reference recorder"; done
if [[ ${#missing[@]} -gt 0 ]]; then
	printf 'bench-storm: missing tools:\n' >&2
	printf '  %s\n' "${missing[@]}" >&2
	die "on Debian: apt-get install -y iproute2 tshark tcpdump util-linux procps time"
fi

# shellcheck source=lib/lab.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/lab.sh"
lab_init abxb /tmp

# --- binaries --------------------------------------------------------------

if [[ -z $ARPSTORM ]]; then
	command -v go >/dev/null || [[ -x /usr/local/go/bin/go ]] || die "go not found: pass -arpstorm PATH"
	GO=$(command -v go || echo /usr/local/go/bin/go)
	log "building arpstorm"
	(cd "$REPO" && "$GO" build -o "$WORK/bin/arpstorm" ./cmd/arpstorm) || die "go build ./cmd/arpstorm failed"
	ARPSTORM=$WORK/bin/arpstorm
fi
[[ -x $ARPSTORM ]] || die "arpstorm $ARPSTORM: not executable"
if [[ ",$RECORDERS," == *,arpbox,* ]]; then
	if [[ -z $ARPBOX ]]; then
		GO=$(command -v go || echo /usr/local/go/bin/go)
		log "building arpbox"
		(cd "$REPO" && "$GO" build -o "$WORK/bin/arpbox" ./cmd/arpbox) ||
			die "go build ./cmd/arpbox failed: pass -arpbox PATH, or -recorders tcpdump"
		ARPBOX=$WORK/bin/arpbox
	fi
	[[ -x $ARPBOX ]] || die "arpbox $ARPBOX: not executable"
fi

# The idle mode's third reference: the Go runtime's own cost of waking once
# a second (an empty program in time.Sleep, built with arpbox's Go version and
# its GODEBUG), measured in the same windows. Without a Go toolchain it is
# left out.
GOFLOOR=""
if [[ $MODE == idle ]]; then
	GO=$(command -v go || echo /usr/local/go/bin/go)
	if [[ -x $GO ]]; then
		mkdir -p "$WORK/gofloor"
		printf 'module gofloor\n\n%s\n' "$(grep -m1 '^go ' "$REPO/go.mod")" >"$WORK/gofloor/go.mod"
		cat >"$WORK/gofloor/main.go" <<'GO'
//go:debug updatemaxprocs=0

// Command gofloor wakes once a second and does nothing else.
package main

import "time"

func main() {
	for {
		time.Sleep(time.Second)
	}
}
GO
		(cd "$WORK/gofloor" && CGO_ENABLED=0 "$GO" build -o "$WORK/bin/gofloor" .) && GOFLOOR=$WORK/bin/gofloor ||
			log "warning: could not build the Go floor reference; left out"
	fi
fi

# --- namespaces ------------------------------------------------------------

lab_up
NCPU=$(nproc)

# --- helpers ---------------------------------------------------------------

# packet_sockets: packet sockets bound to the rx veth in NS_RX.
packet_sockets() {
	# shellcheck disable=SC2016 # awk program, not shell
	ip netns exec "$NS_RX" awk -v ifx="$RX_IFINDEX" 'NR > 1 && $5 == ifx {n++} END {print n + 0}' /proc/net/packet
}

rx_packets() { ip netns exec "$NS_RX" cat "/sys/class/net/$IF_RX/statistics/rx_packets"; }

# cpu_ns PID: CPU time of all live threads of PID, in ns (schedstat), or
# utime+stime ticks * 10^7 if schedstat is missing.
cpu_ns() {
	local pid=$1
	if [[ -r /proc/$pid/schedstat ]]; then
		cat /proc/"$pid"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%d\n", s}'
	else
		awk -v hz="$(getconf CLK_TCK)" '{printf "%d\n", ($14 + $15) * 1e9 / hz}' "/proc/$pid/stat"
	fi
}

status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# start_recorder NAME OUTDIR: runs the recorder in NS_RX under /usr/bin/time;
# sets REC_TIME_PID (the time process) and REC_PID (the recorder itself).
start_recorder() {
	local name=$1 dir=$2 sockets
	sockets=$(packet_sockets)
	case $name in
	arpbox)
		write_arpbox_config "$dir"
		"$ARPBOX" check-config -config "$dir/arpbox.yaml" >"$dir/check-config.out" 2>&1 ||
			{ cat "$dir/check-config.out" >&2; die "arpbox check-config rejected $dir/arpbox.yaml"; }
		/usr/bin/time -o "$dir/time.out" -f '%e %U %S %M %x' \
			ip netns exec "$NS_RX" "$ARPBOX" run -config "$dir/arpbox.yaml" \
			>"$dir/stdout.log" 2>"$dir/stderr.log" &
		;;
	tcpdump)
		# Debian's tcpdump drops to user tcpdump before opening -w; -Z root
		# keeps root so it can write into our work dir.
		(cd "$dir" && exec /usr/bin/time -o "$dir/time.out" -f '%e %U %S %M %x' \
			ip netns exec "$NS_RX" tcpdump -n -i "$IF_RX" -w "$dir/tcpdump.pcap" -Z root arp \
			>"$dir/stdout.log" 2>"$dir/stderr.log") &
		;;
	esac
	REC_TIME_PID=$!
	PIDS+=("$REC_TIME_PID")
	REC_PID=""
	for _ in $(seq 100); do
		REC_PID=$(pgrep -P "$REC_TIME_PID" | head -n1 || true)
		[[ -n $REC_PID ]] && break
		sleep 0.05
	done
	[[ -n $REC_PID ]] || die "$name: did not start (see $dir/stderr.log)"
	PIDS+=("$REC_PID")
	# Ready when one more packet socket is bound to the rx veth in NS_RX
	# (only recorders live there; in idle mode they run side by side), then
	# a grace period for filter and ring set-up.
	local i
	for i in $(seq 200); do
		kill -0 "$REC_PID" 2>/dev/null || { cat "$dir/stderr.log" >&2; die "$name exited during start-up"; }
		(($(packet_sockets) > sockets)) && break
		sleep 0.05
	done
	[[ $i -lt 200 ]] || die "$name: no packet socket on $IF_RX after 10 s (see $dir/stderr.log)"
	sleep 1
}

write_arpbox_config() {
	local dir=$1 seg=64MiB max=4GiB
	if [[ $MODE == small-ring ]]; then seg=1MiB max=8MiB; fi
	mkdir -p "$dir/ring" "$dir/data"
	{
		echo "data_dir: $dir/data"
		echo "capture:"
		echo "  interfaces: [$IF_RX]"
		echo "  filter: arp"
		[[ -n $ARPBOX_BUFFER ]] && echo "  buffer_size: $ARPBOX_BUFFER"
		echo "ring:"
		echo "  dir: $dir/ring"
		echo "  segment_size: $seg"
		echo "  segment_duration: 5m"
		echo "  max_size: $max"
		echo "  max_segments: 0"
		echo "  min_free: 1%"
		echo "control:"
		echo "  socket: $dir/data/arpbox.sock"
		echo "triggers: []"
	} >"$dir/arpbox.yaml"
}

# wait_quiet PID: wait (1-15 s) until PID used < 5 ms CPU in the last 500 ms,
# so it has read what the kernel still held for it.
wait_quiet() {
	local pid=$1 a b
	sleep 1
	for _ in $(seq 28); do
		a=$(cpu_ns "$pid")
		sleep 0.5
		b=$(cpu_ns "$pid")
		((b - a < 5000000)) && return 0
	done
	log "warning: pid $pid still busy 15 s after the storm"
}

# stop_recorder NAME DIR: SIGTERM, wait, read /usr/bin/time's line.
stop_recorder() {
	local name=$1 dir=$2 rc=0
	kill -TERM "$REC_PID"
	wait "$REC_TIME_PID" || rc=$?
	[[ $rc -eq 0 ]] || log "warning: $name exited with status $rc (see $dir/stderr.log)"
	# time.out: maybe "Command exited with non-zero status", then our format line.
	read -r _ REC_USER REC_SYS REC_MAXRSS_KB _ < <(tail -n1 "$dir/time.out")
	REC_CPU=$(awk -v u="$REC_USER" -v s="$REC_SYS" 'BEGIN {printf "%.2f", u + s}')
}

# count_frames FILE...: total packets over capture files (capinfos).
count_frames() {
	[[ $# -gt 0 ]] || { echo 0; return; }
	capinfos -c -M "$@" 2>"$WORK/capinfos.err" | awk -F: '/Number of packets/ {gsub(/ /, "", $2); s += $2} END {printf "%d\n", s}'
	if [[ -s $WORK/capinfos.err ]]; then
		log "capinfos complained:"; sed 's/^/#   /' "$WORK/capinfos.err" >&2
	fi
}

recorder_files() {
	local name=$1 dir=$2
	case $name in
	arpbox)
		shopt -s nullglob
		local f=("$dir"/ring/arp-*.pcapng "$dir"/ring/arp-*.pcapng.part)
		shopt -u nullglob
		if compgen -G "$dir/ring/*.part" >/dev/null; then
			log "warning: arpbox left an unsealed .part segment after a clean stop"
		fi
		printf '%s\n' "${f[@]}"
		;;
	tcpdump) echo "$dir/tcpdump.pcap" ;;
	esac
}

# storm RATE DUR SENDERS OUTPREFIX: runs the senders, waits, sets SENT and SERR.
storm() {
	local rate=$1 dur=$2 n=$3 out=$4 i per pids=()
	per=$((rate / n))
	((rate == 0 || per > 0)) || per=1
	for ((i = 0; i < n; i++)); do
		local pin=()
		((PIN)) && pin=(taskset -c $((i % NCPU)))
		ip netns exec "$NS_TX" "${pin[@]}" "$ARPSTORM" -i "$IF_TX" -rate "$per" -duration "${dur}s" \
			-batch "$BATCH" -src-ip "10.66.$((i + 1)).1" -target-range 10.66.0.0/16 \
			>"$out.sender$i" 2>&1 &
		pids+=($!)
		PIDS+=($!)
	done
	local rc=0
	for i in "${pids[@]}"; do wait "$i" || rc=$?; done
	[[ $rc -eq 0 ]] || { cat "$out".sender* >&2; die "a sender failed"; }
	SENT=$(cat "$out".sender* | awk -F'[ =]' '/^sent=/ {s += $2} END {printf "%d\n", s}')
	SERR=$(cat "$out".sender* | awk '/^sent=/ {for (i = 1; i <= NF; i++) if ($i ~ /^errors=/) {sub(/errors=/, "", $i); s += $i}} END {printf "%d\n", s}')
	SRATE=$(cat "$out".sender* | awk '/^sent=/ {for (i = 1; i <= NF; i++) if ($i ~ /^rate=/) {sub(/rate=/, "", $i); s += $i}} END {printf "%d\n", s}')
}

# busy_pct: share of all CPUs busy over the next second (/proc/stat).
busy_pct() {
	local a b
	a=$(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6; exit}' /proc/stat)
	sleep 1
	b=$(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6; exit}' /proc/stat)
	awk -v a="$a" -v b="$b" 'BEGIN {split(a, x, " "); split(b, y, " "); u = y[1] - x[1]; i = y[2] - x[2]
		printf "%d\n", (u + i > 0 ? 100 * u / (u + i) : 0) }'
}

# wait_quiet_box: other work on the box skews a storm benchmark badly; wait
# (up to QUIET_WAIT s) until the CPUs are < 10% busy before each run. Sets BUSY.
QUIET_WAIT=${QUIET_WAIT:-120}
wait_quiet_box() {
	local t=0
	BUSY=$(busy_pct)
	while ((BUSY >= 10 && t < QUIET_WAIT)); do
		((t == 0)) && log "box is ${BUSY}% busy with other work; waiting up to ${QUIET_WAIT}s for it to calm down"
		sleep 4
		t=$((t + 5))
		BUSY=$(busy_pct)
	done
	((BUSY < 10)) || log "warning: box still ${BUSY}% busy; numbers will be noisy"
}

pct() { awk -v a="$1" -v b="$2" 'BEGIN {if (b == 0) print "n/a"; else printf "%.3f\n", 100 * a / b}'; }

# --- modes -----------------------------------------------------------------

ROWS=()

run_storm_mode() {
	local name dir rx0 rx1 cap lost files rep hwm idx
	for ((rep = 1; rep <= REPEAT; rep++)); do
		for idx in "${!RECS[@]}"; do
			name=${RECS[$idx]}
			dir=$WORK/run$rep.$idx.$name
			mkdir -p "$dir"
			wait_quiet_box
			log "run $rep/$REPEAT: $name: starting in $NS_RX on $IF_RX (box ${BUSY}% busy before)"
			start_recorder "$name" "$dir"
			rx0=$(rx_packets)
			log "run $rep/$REPEAT: $name: storm: $SENDERS sender(s), rate $RATE (0 = max), ${DURATION}s"
			storm "$RATE" "$DURATION" "$SENDERS" "$dir/storm"
			wait_quiet "$REC_PID"
			rx1=$(rx_packets)
			hwm=$(status_kb "$REC_PID" VmHWM)
			log "run $rep/$REPEAT: $name: stopping (SIGTERM) and waiting"
			stop_recorder "$name" "$dir"
			mapfile -t files < <(recorder_files "$name" "$dir")
			cap=$(count_frames "${files[@]}")
			lost=$((SENT - cap))
			ROWS+=("$name $SENT $SERR $SRATE $((rx1 - rx0)) $cap $lost $(pct "$lost" "$SENT") $REC_CPU $REC_MAXRSS_KB $hwm ${#files[@]} $BUSY $REC_USER $REC_SYS")
			if [[ $name == tcpdump ]]; then
				grep -E 'packets (captured|received|dropped)' "$dir/stderr.log" | sed 's/^/#   tcpdump: /' >&2 || true
			fi
			sleep 1
		done
	done
	echo
	echo "Storm: $SENDERS sender(s), rate $([[ $RATE == 0 ]] && echo max || echo "$RATE/s") for ${DURATION}s, batch $BATCH$( ((PIN)) && echo ", pinned"), $REPEAT run(s), $(nproc) CPUs, kernel $(uname -r)"
	printf '%-8s %11s %7s %9s %11s %11s %9s %7s %7s %6s %6s %8s %8s %6s %6s\n' \
		recorder sent snd_err send_fps at_rx captured lost loss% cpu_s usr_s sys_s us/frame rss_MB files busy%
	printf '%s\n' "${ROWS[@]}" | awk -v recs="$RECORDERS" '
		{
			n = $1; s = $2; c = $6; l = $7; cpu = $9
			printf "%-8s %11d %7d %9d %11d %11d %9d %7s %7.2f %6.2f %6.2f %8.3f %8.1f %6d %6d\n",
				n, s, $3, $4, $5, c, l, $8, cpu, $14, $15, (c > 0 ? cpu * 1e6 / c : 0), $10 / 1024, $12, $13
			S[n] += s; C[n] += c; L[n] += l; CPU[n] += cpu; U[n] += $14; Y[n] += $15
		}
		END {
			k = split(recs, r, ",")
			if (NR > k) for (i = 1; i <= k; i++) { n = r[i]
				printf "%-8s %11d %7s %9s %11s %11d %9d %7.3f %7.2f %6.2f %6.2f %8.3f  (total)\n",
					n, S[n], "", "", "", C[n], L[n], (S[n] ? 100 * L[n] / S[n] : 0), CPU[n], U[n], Y[n], (C[n] ? CPU[n] * 1e6 / C[n] : 0) }
			if (k != 2) exit
			a = r[1]; t = r[2]
			la = (S[a] ? L[a] / S[a] : 0); lt = (S[t] ? L[t] / S[t] : 0)
			if (lt > 0) printf "ratio %s/%s: loss %.2fx (%.3f%% vs %.3f%%)", a, t, la / lt, 100 * la, 100 * lt
			else printf "ratio %s/%s: loss n/a (%s lost %d, %s lost 0)", a, t, a, L[a], t
			if (CPU[t] > 0) printf ", CPU %.2fx (%.2f s vs %.2f s)", CPU[a] / CPU[t], CPU[a], CPU[t]
			if (U[t] > 0) printf ", user CPU %.2fx", U[a] / U[t]
			if (C[a] > 0 && C[t] > 0 && CPU[t] > 0) printf ", CPU per captured frame %.2fx", (CPU[a] / C[a]) / (CPU[t] / C[t])
			printf "\n"
		}'
}

run_idle_mode() {
	local name dir w n rx0 rx1 files cap a b
	local -A pid tpid hwm rss
	local -a c0 c1
	wait_quiet_box
	log "idle mode: ${RECS[*]} side by side on $IF_RX, 10 ARP/s for ${DURATION}s (box ${BUSY}% busy before)"
	for name in "${RECS[@]}"; do
		dir=$WORK/$name
		mkdir -p "$dir"
		start_recorder "$name" "$dir"
		pid[$name]=$REC_PID
		tpid[$name]=$REC_TIME_PID
	done
	local -a cols=("${RECS[@]}")
	if [[ -n $GOFLOOR ]]; then
		"$GOFLOOR" &
		pid[go-floor]=$!
		PIDS+=("${pid[go-floor]}")
		cols+=(go-floor)
	fi
	sleep 2 # let start-up work finish; the windows below are steady state
	rx0=$(rx_packets)
	storm 10 "$DURATION" 1 "$WORK/idle" &
	local spid=$!
	PIDS+=("$spid")
	# Consecutive 10 s windows while the ARP trickles, every recorder
	# sampled in the same window: the box's load changes from second to
	# second, so a ratio is taken window by window.
	n=$((DURATION / 10))
	((n > 0)) || n=1
	ROWS=()
	for ((w = 0; w < n; w++)); do
		c0=()
		for name in "${cols[@]}"; do c0+=("$(cpu_ns "${pid[$name]}")"); done
		sleep 10
		c1=()
		for name in "${cols[@]}"; do c1+=("$(cpu_ns "${pid[$name]}")"); done
		local line="" i=0
		for name in "${cols[@]}"; do
			line+=" $name $((c1[i] - c0[i]))"
			i=$((i + 1))
		done
		ROWS+=("$line")
	done
	wait "$spid" || die "the ARP sender failed (see $WORK/idle.sender0)"
	SENT=$(cat "$WORK"/idle.sender* | awk -F'[ =]' '/^sent=/ {s += $2} END {printf "%d\n", s}')
	rx1=$(rx_packets)
	for name in "${RECS[@]}"; do
		hwm[$name]=$(status_kb "${pid[$name]}" VmHWM)
		rss[$name]=$(status_kb "${pid[$name]}" VmRSS)
	done
	[[ -n $GOFLOOR ]] && kill -TERM "${pid[go-floor]}" 2>/dev/null
	sleep 2 # a lone frame may wait in a kernel ring block until its timeout
	echo
	echo "Idle: 1 sender at 10 ARP/s for ${DURATION}s, ${RECS[*]} recording side by side on the same veth;"
	echo "CPU (schedstat, all threads) per 10 s window, excluding start-up"
	[[ -n $GOFLOOR ]] && echo "(go-floor: an empty Go program waking once a second, the Go runtime's own cost of that)"
	printf '%-7s' window
	for name in "${cols[@]}"; do printf ' %12s' "${name}_ms"; done
	[[ ${#RECS[@]} -eq 2 ]] && printf ' %8s' ratio
	echo
	w=0
	for line in "${ROWS[@]}"; do
		w=$((w + 1))
		awk -v w="$w" -v two="$((${#RECS[@]} == 2))" -v l="$line" 'BEGIN {
			k = split(l, f, " "); printf "%-7d", w
			for (i = 2; i <= k; i += 2) printf " %12.2f", f[i] / 1e6
			if (two && f[4] > 0) printf " %7.2fx", f[2] / f[4]
			printf "\n" }'
	done
	printf '%-8s %6s %6s %8s %13s %9s %9s %14s  %s\n' \
		recorder sent at_rx captured cpu_ms_per_10s hwm_MB rss_MB total_cpu_s verdict
	local i=0
	for name in "${RECS[@]}"; do
		dir=$WORK/$name
		REC_PID=${pid[$name]} REC_TIME_PID=${tpid[$name]}
		stop_recorder "$name" "$dir"
		mapfile -t files < <(recorder_files "$name" "$dir")
		cap=$(count_frames "${files[@]}")
		# The median window of this recorder.
		local per
		per=$(for line in "${ROWS[@]}"; do echo "$line"; done | awk -v c=$((2 * i + 2)) '{print $c / 1e6}' | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')
		awk -v n="$name" -v s="$SENT" -v rx="$((rx1 - rx0))" -v c="$cap" -v per="$per" -v h="${hwm[$name]}" -v rs="${rss[$name]}" -v tot="$REC_CPU" 'BEGIN {
			v = (per <= 2 && h < 32 * 1024) ? "PASS" : "FAIL"
			if (n != "arpbox") v = "(reference)"
			printf "%-8s %6d %6d %8d %13.2f %9.1f %9.1f %14.2f  %s\n", n, s, rx, c, per, h / 1024, rs / 1024, tot, v }'
		i=$((i + 1))
	done
	if [[ ${#RECS[@]} -eq 2 ]]; then
		for line in "${ROWS[@]}"; do echo "$line"; done | awk '$4 > 0 {print $2 / $4}' | sort -g |
			awk -v a="${RECS[0]}" -v b="${RECS[1]}" '{v[NR] = $1} END {if (NR) printf "ratio %s/%s CPU per window: median %.2fx (min %.2fx, max %.2fx, %d windows)\n", a, b, v[int((NR + 1) / 2)], v[1], v[NR], NR}'
	fi
	if [[ -n $GOFLOOR ]]; then
		local fc=$((2 * ${#cols[@]}))
		for line in "${ROWS[@]}"; do echo "$line"; done | awk -v fc="$fc" '$fc > 0 {print $2 / $fc}' | sort -g |
			awk -v a="${RECS[0]}" '{v[NR] = $1} END {if (NR) printf "ratio %s/go-floor CPU per window: median %.2fx (min %.2fx, max %.2fx)\n", a, v[int((NR + 1) / 2)], v[1], v[NR]}'
	fi
	echo "targets (arpbox): median window <= 2 ms CPU per 10 s (issue 8), peak RSS < 32 MB"
}

run_small_ring_mode() {
	local dir=$WORK/arpbox bound sampler files cap
	mkdir -p "$dir"
	bound=$((9 * 1024 * 1024)) # max_size 8MiB + one 1MiB segment
	wait_quiet_box
	log "arpbox: small ring (max_size 8MiB, segment_size 1MiB)"
	start_recorder arpbox "$dir"
	# Sample the ring's files every 100 ms: allocated bytes (what du counts,
	# without the directory's own block) and apparent bytes.
	(
		while :; do
			find "$dir/ring" -maxdepth 1 -type f -printf '%b %s\n' 2>/dev/null |
				awk -v t="$EPOCHREALTIME" '{b += $1 * 512; s += $2; n++} END {printf "%s %d %d %d\n", t, b, s, n}' >>"$dir/du.samples" || true
			sleep 0.1
		done
	) &
	sampler=$!
	PIDS+=("$sampler")
	storm "$RATE" "$DURATION" "$SENDERS" "$dir/storm"
	wait_quiet "$REC_PID"
	stop_recorder arpbox "$dir"
	kill -TERM "$sampler"
	wait "$sampler" 2>/dev/null || true
	mapfile -t files < <(recorder_files arpbox "$dir")
	cap=$(count_frames "${files[@]}")
	local bad=0 f
	for f in "${files[@]}"; do capinfos -c "$f" >/dev/null 2>&1 || bad=$((bad + 1)); done
	echo
	echo "Small ring: max_size 8MiB, segment_size 1MiB; $SENDERS sender(s), rate $([[ $RATE == 0 ]] && echo max || echo "$RATE/s") for ${DURATION}s"
	awk -v bound="$bound" -v s="$SENT" -v c="$cap" -v nf="${#files[@]}" -v bad="$bad" -v cpu="$REC_CPU" '
		{ n++; if (n == 1) t0 = $1; t1 = $1; if ($2 > ma) ma = $2; if ($3 > mp) mp = $3; if ($4 > mf) mf = $4 }
		END {
			printf "sent %d, in ring at end %d frames in %d segments (%d unreadable by capinfos), arpbox CPU %.2f s\n", s, c, nf, bad, cpu
			printf "%d samples (~every %.0f ms), max seen: %d bytes allocated (%.2f MiB, du), %d bytes apparent (%.2f MiB), %d files\n",
				n, (n > 1 ? (t1 - t0) * 1000 / (n - 1) : 0), ma, ma / 1048576, mp, mp / 1048576, mf
			printf "bound %d bytes (%.0f MiB = max_size + one segment): %s\n", bound, bound / 1048576,
				(n > 0 && ma <= bound && bad == 0) ? "PASS" : (mp <= bound && bad == 0 ? "FAIL (allocated over, apparent within)" : "FAIL")
		}' "$dir/du.samples"
}

case $MODE in
storm) run_storm_mode ;;
idle) run_idle_mode ;;
small-ring) run_small_ring_mode ;;
esac
