#!/usr/bin/env bash
# Runs arpbox's windows/amd64 tests for real under Wine 8: installs Wine and
# mingw binutils when missing (root), makes a throwaway Wine prefix, runs
# `GOOS=windows go test ./...` through a go_windows_amd64_exec wrapper, then
# the Linux-side tests that run Windows binaries under Wine inside network
# namespaces (Npcap capture, the ARP table through iphlpapi, the arp probe
# check, and arpbox.exe itself: recording, the story's bundle, the two-sided
# report with a Linux arpbox, no Npcap, the service).
#
# Two Wine 8 gaps are bridged here, never in arpbox's code:
#   - Go >= 1.22 needs bcryptprimitives.dll!ProcessPrng, which Wine 8 lacks:
#     the prefix gets a forwarder DLL to advapi32.SystemFunction036, built
#     with mingw as/ld.
#   - Go 1.26's os.RemoveAll (so t.TempDir cleanup) fails on a non-empty
#     directory: Wine answers FileDispositionInformationEx with
#     STATUS_NOT_IMPLEMENTED, which Go's fallback does not expect. The tests
#     are built with -overlay of that one stdlib file, patched at run time
#     from the installed GOROOT (one line; nothing of Go's is committed).
#
# Environment: ARPBOX_WINE_WORK=dir keeps the prefix there (reused when it
# exists; default: a temp dir removed at exit). Extra arguments go to both
# go test runs (e.g. -run TestX).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
start=$SECONDS

wine=/usr/lib/wine/wine64
wineserver=/usr/lib/wine/wineserver64
if [ ! -x "$wine" ] || ! command -v x86_64-w64-mingw32-ld >/dev/null; then
	if [ "$(id -u)" != 0 ]; then
		echo "test-windows: Wine 8 and mingw binutils are missing; run as root to install them" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	pkgs="wine64 binutils-mingw-w64-x86-64"
	if ! apt-get install -y -qq --no-install-recommends $pkgs >/dev/null 2>&1; then
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
	fi
	echo "test-windows: installed $pkgs ($((SECONDS - start)) s)"
fi

work=${ARPBOX_WINE_WORK:-}
if [ -z "$work" ]; then
	work=$(mktemp -d /tmp/arpbox-wine.XXXXXX)
	cleanup_work=1
else
	mkdir -p "$work"
	work=$(cd "$work" && pwd)
	cleanup_work=0
fi
export WINEPREFIX=$work/prefix WINEDEBUG=-all WINEARCH=win64
cleanup() {
	"$wineserver" -k >/dev/null 2>&1 || true
	if [ "$cleanup_work" = 1 ]; then rm -rf "$work"; fi
}
trap cleanup EXIT

# The prefix, with the ProcessPrng forwarder.
if [ ! -f "$WINEPREFIX/system.reg" ]; then
	"$wine" wineboot --init </dev/null >/dev/null 2>&1
	"$wineserver" -w
fi
bp=$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll
if [ ! -f "$bp" ]; then
	printf 'LIBRARY bcryptprimitives.dll\nEXPORTS\n  ProcessPrng = advapi32.SystemFunction036\n' >"$work/bp.def"
	: >"$work/empty.s"
	x86_64-w64-mingw32-as -o "$work/empty.o" "$work/empty.s"
	x86_64-w64-mingw32-ld -shared -e 0 --no-insert-timestamp -o "$bp" "$work/bp.def" "$work/empty.o"
fi

# The os.RemoveAll gap: add STATUS_NOT_IMPLEMENTED to Deleteat's fallback
# case in a patched copy of internal/syscall/windows/at_windows.go.
goroot=$(go env GOROOT)
at=$goroot/src/internal/syscall/windows/at_windows.go
overlay=
if grep -q 'STATUS_NOT_IMPLEMENTED' "$at"; then
	echo "test-windows: $at already handles STATUS_NOT_IMPLEMENTED; no overlay"
else
	sed 's/^\(\t*\)STATUS_NOT_SUPPORTED: *\(\/\/.*\)$/\1STATUS_NOT_SUPPORTED, NTStatus(0xC0000002): \2 (0xC0000002: STATUS_NOT_IMPLEMENTED, Wine 8)/' \
		"$at" >"$work/at_windows.go"
	if cmp -s "$at" "$work/at_windows.go"; then
		echo "test-windows: could not patch $at (Go changed it?): RemoveAll of non-empty directories will fail under Wine" >&2
	else
		printf '{"Replace":{"%s":"%s"}}\n' "$at" "$work/at_windows.go" >"$work/overlay.json"
		overlay=-overlay=$work/overlay.json
	fi
fi

mkdir -p "$work/bin"
printf '#!/bin/sh\nexec %s "$@"\n' "$wine" >"$work/bin/go_windows_amd64_exec"
chmod +x "$work/bin/go_windows_amd64_exec"
export PATH="$work/bin:$PATH"

# A persistent wineserver and a finished wineboot, both writing to
# /dev/null: otherwise each test binary whose stdout is a pipe lingers ~2.5 s.
"$wineserver" -p </dev/null >/dev/null 2>&1
"$wine" wineboot </dev/null >/dev/null 2>&1
echo "test-windows: Wine prefix ready in $work ($((SECONDS - start)) s)"

# Both stages run even when the first fails, so one run shows everything;
# the exit status says whether both passed.
failed=""
if GOOS=windows GOARCH=amd64 CGO_ENABLED=0 go test $overlay -count=1 -timeout 10m "$@" ./...; then
	echo "test-windows: windows/amd64 tests under Wine passed ($((SECONDS - start)) s)"
else
	echo "test-windows: windows/amd64 tests under Wine FAILED ($((SECONDS - start)) s)" >&2
	failed="$failed windows/amd64"
fi

# The Linux side: tests that run Windows binaries under Wine inside network
# namespaces. Each uses its own copy of the prefix (hard links), whose
# wineserver starts inside its namespace; the shared one is no longer needed.
"$wineserver" -k >/dev/null 2>&1 || true
if ARPBOX_WINEPREFIX=$WINEPREFIX ARPBOX_WINE_GOFLAGS=$overlay \
	go test -count=1 -timeout 8m -run 'Wine' "$@" ./capture ./netstate ./trigger ./cmd/arpbox; then
	echo "test-windows: live Wine tests in network namespaces passed ($((SECONDS - start)) s)"
else
	echo "test-windows: live Wine tests in network namespaces FAILED ($((SECONDS - start)) s)" >&2
	failed="$failed live-Wine"
fi
if [ -n "$failed" ]; then
	echo "test-windows: failed:$failed" >&2
	exit 1
fi
