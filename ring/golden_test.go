package ring

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestGoldenSegment writes a small segment with a fixed clock and section
// information and compares it byte for byte with testdata/segment.pcapng
// (run with -update to rewrite it after an intended format change). The
// golden file is also the fuzzer's seed.
func TestGoldenSegment(t *testing.T) {
	clk := &fakeClock{t: t0}
	w := NewWriter(Config{Dir: t.TempDir()}, testIfaces, Options{
		Now: clk.Now, Hostname: "gw1", Version: "1.0.0", OS: "Linux 6.1.0", Hardware: "x86_64",
		Stats: func(i int) (uint64, uint64) { return 10 + uint64(i), uint64(i) },
	})
	if err := w.Open(); err != nil {
		t.Fatal(err)
	}
	for i, n := range frameLens {
		clk.Advance(time.Millisecond)
		w.WritePacket(i%2, clk.Now(), n+4, testFrame(n))
	}
	clk.Advance(time.Second)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(segmentFiles(t, w.cfg.Dir)[0])
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "segment.pcapng")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("segment differs from %s (%d bytes, want %d); check with tshark -V and rerun with -update if intended", golden, len(got), len(want))
	}
	capinfos(t, golden)
	// The real tools see the header fields we mean to write.
	if haveTool(t, "capinfos") {
		out := capinfosOutput(t, golden)
		for _, want := range []string{
			"Capture hardware:    x86_64", "Capture oper-sys:    Linux 6.1.0",
			"Capture application: arpbox 1.0.0", "Capture comment:     captured on host gw1",
			"Number of interfaces in file: 2", "Name = eth1", "Description = uplink",
			"Filter string = arp", "Operating system = Linux", "Capture length = 262144",
			"Time precision = nanoseconds (9)", "Encapsulation = Ethernet (1 - ether)",
			"Name = eth2", "Filter string = arp or (ether proto 0x86dd)", "Capture length = 1500",
			"Number of stat entries = 1", "Number of packets:   6",
		} {
			if !bytes.Contains(out, []byte(want)) {
				t.Errorf("capinfos output lacks %q:\n%s", want, out)
			}
		}
	}
}
