#!/usr/bin/env bash
# Runs arpbox's whole test suite: formatting, vet, cross-builds, and every
# test with the race detector. As root, the live tests build throwaway
# network namespaces joined by veths; without root they skip with a message.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:/usr/sbin:/sbin"

# The live tests use the real tools. As root on Debian/Ubuntu, install the
# missing ones (one apt-get update); otherwise say once which are missing:
# the tests that need them skip, saying so.
tools=(tshark:tshark capinfos:wireshark-common tcpdump:tcpdump nft:nftables ip:iproute2
	arping:arping ping:iputils-ping haproxy:haproxy setpriv:util-linux
	systemd-analyze:systemd useradd:passwd modprobe:kmod ps:procps promtool:prometheus
	amtool:prometheus-alertmanager)
missing=() pkgs=()
for tp in "${tools[@]}"; do
	if ! command -v "${tp%%:*}" >/dev/null; then
		missing+=("${tp%%:*}")
		pkgs+=("${tp#*:}")
	fi
done
if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	echo "installing the test tools: ${pkgs[*]}"
	export DEBIAN_FRONTEND=noninteractive
	echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
	apt-get update -qq
	# Packages that ship a daemon (prometheus, haproxy) must not start it.
	policy=/usr/sbin/policy-rc.d
	made_policy=
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made_policy=1
	fi
	rc=0
	apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null || rc=$?
	if [ -n "$made_policy" ]; then rm -f "$policy"; fi
	if [ "$rc" != 0 ]; then
		echo "installing the test tools failed (apt-get exit $rc)" >&2
		exit "$rc"
	fi
	missing=()
	for tp in "${tools[@]}"; do
		command -v "${tp%%:*}" >/dev/null || missing+=("${tp%%:*}")
	done
fi
if [ ${#missing[@]} -gt 0 ]; then
	echo "note: missing ${missing[*]}: the tests that need them will skip (as root on Debian/Ubuntu this script installs them)" >&2
fi

# The object-storage tests run a real S3 server, VersityGW (Apache 2.0),
# built from source once into GOBIN (about 2 minutes, then cached there).
GOBIN="${GOBIN:-$(go env GOPATH)/bin}"
export PATH="$PATH:$GOBIN"
if ! command -v versitygw >/dev/null; then
	echo "installing versitygw v1.8.0 into $GOBIN for the object-storage tests (once, about 2 minutes)"
	if ! GOBIN="$GOBIN" go install github.com/versity/versitygw/cmd/versitygw@v1.8.0; then
		echo "installing versitygw failed" >&2
		exit 1
	fi
fi

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt: not formatted:" $unformatted >&2
	exit 1
fi
go vet ./...
GOOS=windows go vet ./...   # no Linux-only assumption outside _linux files, tests included
# cmd/arpbox/default.pgo (profile-guided optimisation) changes inlining, not
# behaviour, and a build with it compiles every dependency again (about a
# minute per target here): the release build, linux/amd64, is checked with
# it; the other targets and the tests (which build arpbox themselves too)
# build without it.
CGO_ENABLED=0 go build -o /dev/null ./cmd/arpbox
echo "build ok: linux/amd64 with default.pgo (CGO_ENABLED=0)"
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-pgo=off"
for target in linux/amd64 linux/arm64 windows/amd64 windows/arm64; do
	CGO_ENABLED=0 GOOS=${target%/*} GOARCH=${target#*/} go build -o /dev/null ./...
	echo "build ok: $target (CGO_ENABLED=0)"
done
if [ "$(id -u)" != 0 ]; then
	echo "note: not root: live tests in network namespaces will skip (run: sudo scripts/test.sh)" >&2
fi
go test -race -count=1 -timeout 20m "$@" ./...

# The Windows build, run for real under Wine 8 (scripts/test-windows.sh
# installs Wine as root when it is missing).
if [ -n "${ARPBOX_SKIP_WINDOWS:-}" ]; then
	echo "note: ARPBOX_SKIP_WINDOWS is set: the windows/amd64 tests under Wine did not run" >&2
elif [ "$(id -u)" != 0 ] && [ ! -x /usr/lib/wine/wine64 ]; then
	echo "note: not root and no Wine 8: the windows/amd64 tests under Wine did not run (sudo scripts/test.sh runs them)" >&2
else
	scripts/test-windows.sh "$@"
fi
