package snapshot

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/arpbox/arpbox/bundle"
	"github.com/arpbox/arpbox/ring"
)

// The section header of a bundle's capture says where it was made as
// dumpcap would (CPU model, kernel version), and its comment ends with the
// packet count written after the merge, with no padding: capinfos and
// gopacket read it so.
func TestBundleSectionHeader(t *testing.T) {
	ringDir := filepath.Join(t.TempDir(), "ring")
	w, _ := statsRing(t, ringDir, nil, 10*time.Second)
	cfg := testConfig(filepath.Join(t.TempDir(), "snapshots"))
	cfg.Before, cfg.After = 20*time.Second, 5*time.Second
	T := at(8 * time.Second)
	res := runSnapshot(t, cfg, ringDir, bundle.Event{Trigger: "web1", Check: "tcp", Target: "10.0.0.5:80", Reason: "refused", Time: T},
		Options{Now: (&fakeClock{t: T}).Now, Flush: w.Flush})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	path := filepath.Join(res.Dir, captureName)
	_, sec := readISBs(t, path)
	host := ring.HostInfo()
	if sec.Hardware != host.Hardware || sec.OS != host.OS {
		t.Errorf("shb_hardware %q, shb_os %q; want %q, %q", sec.Hardware, sec.OS, host.Hardware, host.OS)
	}
	c := sec.Comment
	if !strings.HasSuffix(c, "\npackets: 200; the trigger comment is on packet 161 (2026-11-26T01:00:08Z), the first packet at or after T") {
		t.Errorf("section comment does not end with the status line:\n%q", c)
	}
	if regexp.MustCompile(`  |\s$`).MatchString(c) {
		t.Errorf("section comment is padded:\n%q", c)
	}
	if _, err := exec.LookPath("capinfos"); err != nil {
		t.Skip("capinfos not on PATH (CI installs it)")
	}
	out, err := exec.Command("capinfos", "-M", path).CombinedOutput()
	if err != nil {
		t.Fatalf("capinfos: %v\n%s", err, out)
	}
	for _, want := range []string{
		"Capture hardware:    " + host.Hardware + "\n",
		"Capture oper-sys:    " + host.OS + "\n",
		"Capture application: arpbox 0.0.0-test\n",
		"packets: 200; the trigger comment is on packet 161",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("capinfos output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "   \n") {
		t.Errorf("capinfos shows padding in the comment:\n%s", out)
	}
}
