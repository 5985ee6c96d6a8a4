#!/bin/bash
# corpus-check.sh: compare arpbox report's ARP counts with tshark's on
# public captures nobody here wrote.
#
# Usage: scripts/corpus-check.sh [-o OUTDIR] SOURCE...
#
# SOURCE is a directory of captures, or a git directory (a bare clone or
# the .git of a checkout; e.g. of the-tcpdump-group/tcpdump, libpcap,
# zeek/zeek) whose *.pcap, *.pcapng, *.cap (and .gz) files at HEAD are
# extracted into OUTDIR (default: a temporary directory).
#
# For every capture it runs `arpbox report -json` and `tshark -r F -Y arp`
# and compares:
#   arpbox: ARP frames decoded, plus the frames counted as not decoded that
#           are ARP to tshark (RARP, ARP for other hardware or protocol
#           types, other opcodes, ARP cut short);
#   tshark: frames with an arp layer (including inside tunnels).
# A file tshark cannot read must make arpbox exit non-zero, and vice versa
# ("both refuse" counts as agreement). One line per file that differs, then
# a summary. Exit status 0 when every file agrees.
set -u -o pipefail

out=""
if [ "${1:-}" = "-o" ]; then out=$2; shift 2; fi
[ $# -gt 0 ] || { sed -n '2,22p' "$0"; exit 2; }
command -v tshark >/dev/null || { echo "corpus-check: tshark is needed" >&2; exit 2; }
command -v jq >/dev/null || { echo "corpus-check: jq is needed" >&2; exit 2; }
[ -n "$out" ] || out=$(mktemp -d)
mkdir -p "$out"

root=$(cd "$(dirname "$0")/.." && pwd)
arpbox="$out/arpbox"
(cd "$root" && go build -o "$arpbox" ./cmd/arpbox) || exit 1

files=()
for src in "$@"; do
	if git --git-dir="$src" rev-parse --verify -q HEAD >/dev/null 2>&1; then
		name=$(basename "$src")
		case $name in .git | repo) name=$(basename "$(dirname "$src")") ;; esac
		mkdir -p "$out/$name"
		while IFS= read -r p; do
			f="$out/$name/${p//\//_}"
			git --git-dir="$src" show "HEAD:$p" >"$f" 2>/dev/null || continue
			files+=("$f")
		done < <(git --git-dir="$src" ls-tree -r --name-only HEAD | grep -Ei '\.(pcap|pcapng|cap)(\.gz)?$')
	else
		while IFS= read -r f; do files+=("$f"); done < <(find "$src" -type f | grep -Ei '\.(pcap|pcapng|cap)(\.gz)?$' | sort)
	fi
done

# check FILE prints one line: "AGREE <tshark> FILE", "REFUSE FILE" (both
# refuse it), "SKIP FILE" (a Git LFS pointer) or "DIFF <why>\t<detail>".
check() {
	f=$1
	if head -c 40 "$f" | grep -q '^version https://git-lfs'; then
		echo "SKIP $f"; return
	fi
	tout=$(timeout 120 tshark -r "$f" -Y arp -T fields -e frame.number 2>/dev/null)
	trc=$?
	tcount=$(printf '%s' "$tout" | grep -c . || true)
	err=$(mktemp)
	json=$(timeout 120 "$ARPBOX" report -q -json "$f" 2>"$err")
	arc=$?
	msg=$(head -c 200 "$err" | tr '\n' ' '); rm -f "$err"
	if [ $arc -ne 0 ]; then
		if [ $trc -ne 0 ] && [ "$tcount" -eq 0 ]; then echo "REFUSE $f"; return; fi
		key=$(printf '%s' "$msg" | sed -E 's/.*: (pcapng?|not a pcap)/\1/; s/[0-9]+/N/g' | head -c 70)
		printf 'DIFF arpbox refuses: %s\t%s: tshark %s ARP (exit %s); %s\n' "$key" "$f" "$tcount" "$trc" "$msg"
		return
	fi
	acount=$(printf '%s' "$json" | jq '[.sides[] | .arp + ([.not_decoded[]? | select(.kind == "rarp" or .kind == "arp-type" or .kind == "arp-opcode" or .kind == "arp-cut") | .count] | add // 0)] | add')
	if [ "$acount" = "$tcount" ] || { [ $trc -ne 0 ] && [ "$tcount" -eq 0 ] && [ "$acount" -eq 0 ]; }; then
		echo "AGREE $tcount $f"; return
	fi
	nd=$(printf '%s' "$json" | jq -r '[.sides[].not_decoded[]? | "\(.count) \(.cause)"] | join("; ")')
	links=$(capinfos -T -m -E "$f" 2>/dev/null | tail -1 | cut -d, -f2-)
	printf 'DIFF count differs (link: %s)\t%s: arpbox %s, tshark %s (tshark exit %s; not decoded: %s)\n' "$links" "$f" "$acount" "$tcount" "$trc" "${nd:-none}"
}
export -f check
export ARPBOX="$arpbox"

printf '%s\0' "${files[@]}" | xargs -0 -n 1 -P "${JOBS:-2}" bash -c 'check "$1"' _ >"$out/results.txt"

total=$(grep -vc '^SKIP' "$out/results.txt")
lfs=$(grep -c '^SKIP' "$out/results.txt")
agree=$(grep -c '^AGREE' "$out/results.txt")
refuse=$(grep -c '^REFUSE' "$out/results.txt")
witharp=$(awk '$1 == "AGREE" && $2 > 0' "$out/results.txt" | wc -l)
grep '^DIFF' "$out/results.txt" | cut -f2- | sort
echo
echo "captures checked: $total (Git LFS pointers skipped: $lfs)"
echo "agree: $((agree + refuse)) (with ARP: $witharp; both refuse the file: $refuse)"
echo "differ: $((total - agree - refuse))"
grep '^DIFF' "$out/results.txt" | cut -f1 | sed 's/^DIFF //' | sort | uniq -c | sort -rn
[ $((agree + refuse)) -eq "$total" ]
