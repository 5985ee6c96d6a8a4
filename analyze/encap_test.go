package analyze_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arpbox/arpbox/analyze"
	at "github.com/arpbox/arpbox/analyze/analyzetest"
)

// TestGoldenEncap: ARP is found in every encapsulation the decoder reads,
// the rest is counted by cause, and the verdict says so instead of a bare
// "no failure". tshark -Y arp counts the same frames as ARP.
func TestGoldenEncap(t *testing.T) {
	links, fs, arp := at.EncapFrames(t0)
	var buf bytes.Buffer
	if err := at.WritePcapNGLinks(&buf, links, fs); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "encap.pcapng")
	writeOrCheck(t, path, buf.Bytes())
	checkWithTshark(t, path, len(fs))
	if _, err := exec.LookPath("tshark"); err == nil {
		out, err := exec.Command("tshark", "-r", path, "-Y", "arp", "-T", "fields", "-e", "frame.number").Output()
		if err != nil {
			t.Fatal(err)
		}
		if n := len(strings.Fields(string(out))); n != arp {
			t.Errorf("tshark -Y arp counts %d frames in %s, want %d", n, path, arp)
		}
	}
	rep, err := analyze.Analyze(context.Background(), []string{filepath.ToSlash(path)}, analyze.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := rep.Sides[0]
	var notRead uint64
	for _, x := range s.NotDecoded {
		notRead += x.Count
	}
	// Decoded ARP plus RARP and Frame Relay ARP is what tshark calls ARP.
	if got := int(s.ARP) + 2; got != arp {
		t.Errorf("ARP %d (+2 not decoded) = %d, tshark counts %d", s.ARP, got, arp)
	}
	if notRead != 5 {
		t.Errorf("not decoded: %d frames %+v, want 5", notRead, s.NotDecoded)
	}
	if strings.HasPrefix(rep.Verdict.Summary, "No neighbor-resolution failure found") || !strings.Contains(rep.Verdict.Summary, "could not be decoded") {
		t.Errorf("verdict %q does not say what was not read", rep.Verdict.Summary)
	}
	var txt, js, page bytes.Buffer
	if err := rep.WriteText(&txt); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{txt.String(), js.String(), page.String()} {
		for _, want := range []string{"RARP", "FRELAY", "VXLAN"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%.400s", want, out)
			}
		}
	}
	golden(t, filepath.Join("testdata", "encap.txt"), txt.Bytes())
	golden(t, filepath.Join("testdata", "encap.json"), js.Bytes())
}

// writeOrCheck writes b to path with -update (or when it is missing), and
// otherwise checks that the committed file is what the builder makes.
func writeOrCheck(t *testing.T, path string, b []byte) {
	t.Helper()
	old, err := os.ReadFile(path)
	if *update || err != nil {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(old, b) {
		t.Fatalf("%s differs from what the builder makes; run with -update", path)
	}
}
