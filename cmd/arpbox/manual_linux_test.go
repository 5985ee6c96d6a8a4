package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arpbox/arpbox/bundle"
	"github.com/arpbox/arpbox/internal/nstest"
	"github.com/arpbox/arpbox/snapshot"
)

// TestManualTriggers: a person can ask for a bundle with `arpbox snapshot`,
// SIGUSR1 or the trigger file, and list bundles with `arpbox snapshots`.
func TestManualTriggers(t *testing.T) {
	nstest.RequireRoot(t, "tshark", "capinfos")
	gw, peer := nstest.NewHost(t, "gw"), nstest.NewHost(t, "pe")
	lg, _ := nstest.Veth(t, gw, "10.208.3.1/24", peer, "10.208.3.2/24")
	dir := t.TempDir()
	sock := dir + "/arpbox.sock"
	d := startRecorder(t, gw, lg.Name, dir, recorderOpts{
		snapshots: "before: 30s\nafter: 1s\ncooldown: 1s",
		control:   "trigger_file: " + dir + "/trigger",
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// 1. The CLI prints the bundle's path once it is written.
	out, err := gw.Command(ctx, binPath, "snapshot", "-socket", sock, "-reason", "web1 unreachable from the LB").Output()
	if err != nil {
		t.Fatalf("arpbox snapshot: %v", err)
	}
	paths := strings.Fields(string(out))
	if len(paths) < 1 {
		t.Fatalf("arpbox snapshot printed %q", out)
	}
	m, err := bundle.ReadManifestDir(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	if m.Trigger.Reason != "web1 unreachable from the LB" || m.Trigger.Check != "api" {
		t.Errorf("manifest trigger = %+v", m.Trigger)
	}
	capinfosCount(t, filepath.Join(paths[0], "capture.pcapng.gz"))
	for _, f := range []string{"report.txt", "report.json", "report.html", "netstate.txt", "netstate.json", "README.txt"} {
		if _, err := os.Stat(filepath.Join(paths[0], f)); err != nil {
			t.Errorf("bundle lacks %s: %v", f, err)
		}
	}

	// 2. SIGUSR1.
	time.Sleep(1200 * time.Millisecond) // past the cooldown
	if err := d.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	waitBundles(t, dir+"/snapshots", 2, 30*time.Second)

	// 3. The trigger file, with binary junk in it: the reason must come out clean.
	time.Sleep(1200 * time.Millisecond)
	junk := []byte("switch\x00port\x1b[31m 7 \xff\xfe flapping\n\x07")
	if err := os.WriteFile(dir+"/trigger", junk, 0o644); err != nil {
		t.Fatal(err)
	}
	waitBundles(t, dir+"/snapshots", 3, 30*time.Second)

	// arpbox status shows the capture and the ring.
	out, err = gw.Command(ctx, binPath, "status", "-socket", sock).Output()
	if err != nil {
		t.Fatalf("arpbox status: %v", err)
	}
	var st struct {
		Interfaces []struct{ Name string }         `json:"interfaces"`
		Ring       struct{ PacketsWritten uint64 } `json:"ring"`
	}
	if err := json.Unmarshal(out, &st); err != nil || len(st.Interfaces) != 1 || st.Interfaces[0].Name != lg.Name {
		t.Errorf("arpbox status = %s (%v)", out, err)
	}

	// 4. arpbox snapshots lists all three, with their triggers.
	out, err = gw.Command(ctx, binPath, "snapshots", "-socket", sock, "-json").Output()
	if err != nil {
		t.Fatalf("arpbox snapshots: %v", err)
	}
	var list []snapshot.Info
	if err := json.Unmarshal(out, &list); err != nil {
		t.Fatalf("arpbox snapshots -json: %v: %s", err, out)
	}
	checks := map[string]string{}
	for _, i := range list {
		checks[i.Check] = i.Reason
	}
	if len(list) != 3 || checks["api"] == "" || checks["signal"] == "" || checks["file"] == "" {
		t.Fatalf("arpbox snapshots = %+v, want one each from api, signal and file", list)
	}
	reason := checks["file"]
	for _, r := range reason {
		if r < 0x20 || r == 0x7f {
			t.Errorf("trigger-file reason %q holds a control character", reason)
		}
	}
	if !strings.Contains(reason, "switch") || !strings.Contains(reason, "flapping") {
		t.Errorf("trigger-file reason %q lost the text", reason)
	}
}

// TestStreamTriggerFires: an arp-unanswered trigger fires from what the
// recorder sees, without probing anything itself.
func TestStreamTriggerFires(t *testing.T) {
	nstest.RequireRoot(t, "nft", "arping")
	gw, be := nstest.NewHost(t, "gw"), nstest.NewHost(t, "be")
	lg, lb := nstest.Veth(t, gw, "10.208.4.1/24", be, "10.208.4.2/24")
	dir := t.TempDir()
	startRecorder(t, gw, lg.Name, dir, recorderOpts{
		snapshots: "before: 30s\nafter: 1s",
		triggers: fmt.Sprintf(`  - name: backend-unanswered
    check: arp-unanswered
    target: %s
    threshold: 3
    window: 10s
    interval: 500ms
    fail_after: 1
`, lb.Addr()),
	})
	// Answered requests don't fire.
	gw.MustRun("arping", "-c", "5", "-W", "0.2", "-i", lg.Name, lb.Addr().String())
	time.Sleep(2 * time.Second)
	if b := bundles(t, dir+"/snapshots"); len(b) != 0 {
		t.Fatalf("answered ARP fired the trigger: %v", b)
	}
	be.MustRun("nft", "add", "table", "arp", "t")
	be.MustRun("nft", "add", "chain", "arp", "t", "in", "{ type filter hook input priority 0; }")
	be.MustRun("nft", "add", "rule", "arp", "t", "in", "drop")
	_, _ = gw.Run("arping", "-c", "5", "-W", "0.2", "-i", lg.Name, lb.Addr().String()) // exits 1: no replies
	b := waitBundles(t, dir+"/snapshots", 1, 20*time.Second)
	m, err := bundle.ReadManifestDir(b[0])
	if err != nil {
		t.Fatal(err)
	}
	if m.Trigger.Check != "arp-unanswered" || !strings.Contains(m.Trigger.Reason, "unanswered") {
		t.Errorf("manifest trigger = %+v", m.Trigger)
	}
}

// TestShutdownDuringAfterWindow: stopping arpbox while a snapshot waits for
// its after-window still leaves the bundle, written from what was recorded.
func TestShutdownDuringAfterWindow(t *testing.T) {
	nstest.RequireRoot(t, "arping")
	gw, peer := nstest.NewHost(t, "gw"), nstest.NewHost(t, "pe")
	lg, lp := nstest.Veth(t, gw, "10.208.6.1/24", peer, "10.208.6.2/24")
	dir := t.TempDir()
	d := startRecorder(t, gw, lg.Name, dir, recorderOpts{snapshots: "before: 1m\nafter: 10m"})
	peer.MustRun("arping", "-c", "3", "-W", "0.1", "-i", lp.Name, lg.Addr().String())
	if err := d.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	if !d.waitLog("snapshot frozen", 10*time.Second) {
		t.Fatal("SIGUSR1 froze nothing")
	}
	if err := d.stop(); err != nil {
		t.Fatalf("arpbox exit: %v", err)
	}
	b := bundles(t, dir+"/snapshots")
	if len(b) != 1 {
		t.Fatalf("bundles after shutdown: %v", b)
	}
	m, err := bundle.ReadManifestDir(b[0])
	if err != nil {
		t.Fatal(err)
	}
	if m.Window.EndedEarly == nil || m.Capture.Packets < 6 {
		t.Errorf("manifest: ended_early %v, %d packets; want the shutdown time and the 6 ARP frames", m.Window.EndedEarly, m.Capture.Packets)
	}
}
