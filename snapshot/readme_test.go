package snapshot

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/arpbox/arpbox/bundle"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestReadmeGolden(t *testing.T) {
	m := &bundle.Manifest{
		ID:      "20261126T012633Z-web1",
		Host:    "gw1",
		Trigger: bundle.Event{Trigger: "web1", Check: "tcp", Target: "10.0.0.5:80", Reason: "3 consecutive failures: dial tcp 10.0.0.5:80: i/o timeout", Time: time.Date(2026, 11, 26, 1, 26, 33, 123456789, time.UTC)},
		Window: bundle.ManifestWindow{
			Requested: bundle.Window{From: time.Date(2026, 11, 26, 1, 16, 33, 123456789, time.UTC), To: time.Date(2026, 11, 26, 1, 27, 33, 123456789, time.UTC)},
			Before:    "10m0s", After: "1m0s", ShortBy: "4m0s", Note: "the oldest segment in the ring started at 2026-11-26T01:20:33Z",
		},
		Capture:    bundle.ManifestCapture{Packets: 1234, TriggerNote: "the trigger comment is on packet 1001 (2026-11-26T01:26:33.2Z), the first packet at or after T"},
		Files:      []bundle.ManifestFile{{Name: "README.txt", Size: 3000}, {Name: "capture.pcapng.gz", Size: 123456}, {Name: "netstate.json", Size: 2000}},
		Collectors: []bundle.ManifestResult{{Name: "netstate", OK: true}, {Name: "report", Error: "analyze: timeout"}},
	}
	var b bytes.Buffer
	if err := writeReadme(&b, m); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "README.golden")
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), b.String()); diff != "" {
		t.Errorf("README.txt (-want +got):\n%s", diff)
	}
}
