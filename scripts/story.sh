#!/usr/bin/env bash
# story.sh — watch arpbox catch the incident it was written for.
#
# Builds two throwaway hosts (network namespaces) joined by a veth: a gateway
# running arpbox, and a backend. ARP flows; then the backend stops answering
# ARP (an nft rule in the arp family), the gateway's neighbor entry goes
# INCOMPLETE/FAILED, the trigger fires and arpbox writes an incident bundle.
# The script prints the bundle, the trigger packet and the report, then
# cleans everything up. Needs root, iproute2, nftables, tshark.
#
#   sudo scripts/story.sh [-keep DIR]    (-keep: copy the bundle to DIR)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

keep=""
[ "${1:-}" = "-keep" ] && keep="${2:?-keep needs a directory}"
[ "$(id -u)" = 0 ] || { echo "story.sh: run as root (it creates network namespaces)" >&2; exit 1; }
for tool in ip nft tshark go; do
	command -v "$tool" >/dev/null || { echo "story.sh: $tool is missing" >&2; exit 1; }
done

gw=abxstory-gw be=abxstory-be
work=$(mktemp -d /tmp/arpbox-story.XXXXXX)
pid=""
cleanup() {
	[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
	ip netns del "$gw" 2>/dev/null || true
	ip netns del "$be" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "building arpbox"
go build -o "$work/arpbox" ./cmd/arpbox

say "two hosts: gateway 10.250.0.1 and backend 10.250.0.2 on one link"
ip netns add "$gw"
ip netns add "$be"
ip link add gw0 netns "$gw" type veth peer name be0 netns "$be"
ip -n "$gw" addr add 10.250.0.1/24 dev gw0
ip -n "$be" addr add 10.250.0.2/24 dev be0
ip -n "$gw" link set gw0 up
ip -n "$be" link set be0 up
ip -n "$gw" link set lo up
ip -n "$be" link set lo up
for kv in base_reachable_time_ms=1000 delay_first_probe_time=1 retrans_time_ms=300; do
	ip netns exec "$gw" sysctl -qw "net.ipv4.neigh.gw0.$kv"
done

cat >"$work/arpbox.yaml" <<EOF
capture:
  interfaces: [gw0]
ring:
  dir: $work/ring
  segment_size: 1MiB
  segment_duration: 10s
  max_size: 32MiB
snapshots:
  dir: $work/snapshots
  before: 2m
  after: 3s
control:
  socket: $work/arpbox.sock
triggers:
  - name: backend
    check: icmp
    target: 10.250.0.2
    interval: 300ms
    timeout: 250ms
    fail_after: 3
  - name: backend-neighbor
    check: neighbor
    target: 10.250.0.2
    interval: 500ms
    fail_after: 1
EOF

say "arpbox records ARP on the gateway (log: $work/arpbox.log)"
ip netns exec "$gw" "$work/arpbox" run -config "$work/arpbox.yaml" >"$work/arpbox.log" 2>&1 &
pid=$!
sleep 8
ip netns exec "$gw" ip neigh show dev gw0

say "the backend stops answering ARP"
ip netns exec "$be" nft add table arp story
ip netns exec "$be" nft add chain arp story in '{ type filter hook input priority 0; }'
ip netns exec "$be" nft add rule arp story in drop
for _ in $(seq 1 60); do
	ls "$work"/snapshots/*.zip >/dev/null 2>&1 && break
	sleep 1
done
ip netns exec "$gw" ip neigh show dev gw0
bundle=$(ls -d "$work"/snapshots/*/ 2>/dev/null | head -n 1)
[ -n "$bundle" ] || { echo "no bundle was written; arpbox log:" >&2; cat "$work/arpbox.log" >&2; exit 1; }

say "arpbox log"
cat "$work/arpbox.log"
say "the bundle: $bundle"
ls -l "$bundle"
say "the packet that carries the trigger (tshark -Y frame.comment)"
tshark -r "$bundle/capture.pcapng.gz" -Y frame.comment -T fields -e frame.number -e frame.time -e frame.comment 2>/dev/null
say "ARP in the bundle (last 15 frames)"
tshark -r "$bundle/capture.pcapng.gz" 2>/dev/null | tail -n 15
if [ -f "$bundle/report.txt" ]; then
	say "report.txt"
	cat "$bundle/report.txt"
fi
if [ -n "$keep" ]; then
	mkdir -p "$keep"
	cp -r "$bundle" "${bundle%/}.zip" "$keep"/
	say "kept a copy in $keep"
fi
