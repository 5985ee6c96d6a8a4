#!/usr/bin/env bash
# pgo.sh — regenerate cmd/arpbox/default.pgo, the profile `go build` uses for
# profile-guided optimisation of arpbox (Go reads default.pgo from the main
# package's directory; -pgo=off builds without it).
#
# The profile merges CPU profiles of arpbox's two hot paths, each from the
# benchmark that measures it:
#   - the report: BenchmarkAnalyze (1 M frames through internal/pcapng and
#     analyze, as `arpbox report` reads them);
#   - recording: BenchmarkFillBlock (kernel ring blocks into batches) and
#     BenchmarkRingWrite (batches into the ring's pcapng segments).
# Regenerate it when those paths change much; a stale profile still builds,
# it only optimises less.
#
# Usage (from anywhere in the repo): scripts/pgo.sh
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
GO=$(command -v go || echo /usr/local/go/bin/go)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$REPO"

"$GO" test ./analyze/ -run '^$' -bench '^BenchmarkAnalyze$' -benchtime 30x -cpuprofile "$WORK/report.pprof" -o "$WORK/analyze.test"
"$GO" test ./capture/ -run '^$' -bench '^BenchmarkFillBlock$' -benchtime 2s -cpuprofile "$WORK/fill.pprof" -o "$WORK/capture.test"
"$GO" test ./recorder/ -run '^$' -bench '^BenchmarkRingWrite$' -benchtime 2s -cpuprofile "$WORK/ring.pprof" -o "$WORK/recorder.test"
"$GO" tool pprof -proto "$WORK/report.pprof" "$WORK/fill.pprof" "$WORK/ring.pprof" >cmd/arpbox/default.pgo
echo "pgo: wrote cmd/arpbox/default.pgo ($(wc -c <cmd/arpbox/default.pgo) bytes)"
