#!/usr/bin/env bash
# Runs arpbox's whole test suite: formatting, vet, cross-builds, and every
# test with the race detector. As root, the live tests build throwaway
# network namespaces joined by veths; without root they skip with a message.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt: not formatted:" $unformatted >&2
	exit 1
fi
go vet ./...
GOOS=windows go vet ./...   # no Linux-only assumption outside _linux files, tests included
for target in linux/amd64 linux/arm64 windows/amd64; do
	CGO_ENABLED=0 GOOS=${target%/*} GOARCH=${target#*/} go build -o /dev/null ./...
	echo "build ok: $target (CGO_ENABLED=0)"
done
if [ "$(id -u)" != 0 ]; then
	echo "note: not root: live tests in network namespaces will skip (run: sudo scripts/test.sh)" >&2
fi
go test -race -count=1 -timeout 20m "$@" ./...
