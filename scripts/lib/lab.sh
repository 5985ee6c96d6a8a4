# lab.sh — sourced by the benchmark scripts (bench-storm.sh, bench-bundle.sh,
# soak.sh): a work directory, two network namespaces joined by a veth, and a
# cleanup on exit that stops the processes listed in PIDS (SIGTERM, then
# SIGKILL after 5 s), deletes the namespaces and removes the work directory
# unless KEEP is 1. The sourcing script defines log, die and KEEP.

# lab_init TAG BASE: sets REPO, WORK (a new directory under BASE), NS_TX,
# NS_RX, IF_TX, IF_RX (named from TAG and this shell's pid), PIDS, and the
# exit traps.
lab_init() {
	local tag=$1 base=$2
	REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	WORK=$(mktemp -d "$base/$tag.XXXXXX")
	chmod 755 "$WORK"
	NS_TX=$tag-tx-$$
	NS_RX=$tag-rx-$$
	IF_TX=$tag$$t
	IF_RX=$tag$$r
	PIDS=()
	trap lab_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

lab_cleanup() {
	local rc=$? p
	trap - EXIT INT TERM
	for p in "${PIDS[@]}"; do
		if kill -0 "$p" 2>/dev/null; then
			kill -TERM "$p" 2>/dev/null || true
			for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
			if kill -0 "$p" 2>/dev/null; then
				log "pid $p ignored SIGTERM for 5 s; killing it"
				kill -KILL "$p" 2>/dev/null || true
			fi
		fi
	done
	ip netns del "$NS_TX" 2>/dev/null || true
	ip netns del "$NS_RX" 2>/dev/null || true
	if [[ $KEEP -eq 1 ]]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
	exit "$rc"
}

# lab_up: the namespaces and the veth between them, up, without IPv6 (no
# NDP or MLD chatter: nothing on the wire but what the script sends); sets
# RX_IFINDEX.
lab_up() {
	local pair ns ifc
	ip netns add "$NS_TX"
	ip netns add "$NS_RX"
	ip link add "$IF_TX" type veth peer name "$IF_RX"
	ip link set "$IF_TX" netns "$NS_TX"
	ip link set "$IF_RX" netns "$NS_RX"
	for pair in "$NS_TX:$IF_TX" "$NS_RX:$IF_RX"; do
		ns=${pair%%:*} ifc=${pair#*:}
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
		ip -n "$ns" link set lo up
		ip -n "$ns" link set "$ifc" up
	done
	RX_IFINDEX=$(ip netns exec "$NS_RX" cat "/sys/class/net/$IF_RX/ifindex")
}
