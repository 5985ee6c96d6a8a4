package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arpbox/arpbox/analyze/analyzetest"
)

// TestReplay: arpbox run -replay records a capture file's ARP into the ring
// through the same path as live frames, drops what is not ARP, and exits.
func TestReplay(t *testing.T) {
	gw, be := analyzetest.MAC("02:00:00:00:00:01"), analyzetest.MAC("02:00:00:00:00:05")
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	var frames []analyzetest.Frame
	for i := 0; i < 50; i++ {
		ts := t0.Add(time.Duration(i) * 100 * time.Millisecond)
		frames = append(frames,
			analyzetest.Frame{Time: ts, Data: analyzetest.Request(gw, "10.0.0.1", "10.0.0.5")},
			analyzetest.Frame{Time: ts.Add(time.Millisecond), Data: analyzetest.Reply(be, "10.0.0.5", gw, "10.0.0.1")},
			// An IPv4 frame the arp filter must drop.
			analyzetest.Frame{Time: ts.Add(2 * time.Millisecond), Data: analyzetest.Ethernet(be, gw, 0x0800, make([]byte, 46))})
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pcapng")
	var buf bytes.Buffer
	if err := analyzetest.WritePcapNG(&buf, frames); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, fmt.Sprintf("ring:\n  dir: %s/ring\ncontrol:\n  socket: %s/arpbox.sock\n", dir, dir))
	var stdout, stderr bytes.Buffer
	if code := dispatch([]string{"run", "-config", cfg, "-replay", in}, &stdout, &stderr); code != 0 {
		t.Fatalf("arpbox run -replay: exit %d\n%s", code, stderr.String())
	}
	sealed, parts := ringFiles(t, dir+"/ring")
	if len(sealed) != 1 || len(parts) != 0 {
		t.Fatalf("ring after replay: sealed %v, parts %v", sealed, parts)
	}
	if _, err := os.Stat(sealed[0]); err != nil {
		t.Fatal(err)
	}
	if hasTool("capinfos") {
		if n := capinfosCount(t, sealed[0]); n != 100 {
			t.Errorf("ring holds %d frames, want the 100 ARP frames of the 150", n)
		}
	}
	if !strings.Contains(stderr.String(), "ring: opened") {
		t.Errorf("no log of the ring opening:\n%s", stderr.String())
	}
}
