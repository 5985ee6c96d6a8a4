package main

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arpbox/arpbox/internal/nstest"
)

// TestStory reproduces the incident arpbox was written for: a gateway and a
// backend on one link, ARP flowing, then the backend stops answering ARP.
// The gateway's arpbox must freeze what ARP did before the failure into one
// bundle, re-arm when the backend recovers, and write a second bundle for a
// second outage.
func TestStory(t *testing.T) {
	nstest.RequireRoot(t, "tshark", "capinfos", "nft", "ping")
	gw, be := nstest.NewHost(t, "gw"), nstest.NewHost(t, "be")
	lg, lb := nstest.Veth(t, gw, "10.209.0.1/24", be, "10.209.0.2/24")
	// Short neighbor timers so the gateway re-resolves the backend every
	// couple of seconds, as a busy gateway would over minutes.
	for _, kv := range []string{"base_reachable_time_ms=1000", "delay_first_probe_time=1", "retrans_time_ms=300"} {
		gw.MustRun("sysctl", "-qw", "net.ipv4.neigh."+lg.Name+"."+kv)
	}

	dir := t.TempDir()
	d := startRecorder(t, gw, lg.Name, dir, recorderOpts{
		ring:      "segment_size: 256KiB\nsegment_duration: 3s\nmax_size: 32MiB",
		snapshots: "before: 1m\nafter: 3s\ncooldown: 5s",
		triggers: fmt.Sprintf(`  - name: backend-icmp
    check: icmp
    target: %[1]s
    interval: 300ms
    timeout: 250ms
    fail_after: 3
    recover_after: 2
  - name: backend-neighbor
    check: neighbor
    target: %[1]s
    interval: 500ms
    fail_after: 1
    recover_after: 2
`, lb.Addr()),
	})
	time.Sleep(6 * time.Second) // healthy: requests and replies flow

	outage := func(n int) {
		be.MustRun("nft", "add", "table", "arp", "story")
		be.MustRun("nft", "add", "chain", "arp", "story", "in", "{ type filter hook input priority 0; }")
		be.MustRun("nft", "add", "rule", "arp", "story", "in", "drop")
		t.Logf("outage %d: backend drops ARP", n)
	}
	recover := func(n int) {
		be.MustRun("nft", "delete", "table", "arp", "story")
		t.Logf("outage %d over: backend answers ARP again", n)
	}

	outage(1)
	b1 := waitBundles(t, dir+"/snapshots", 1, 45*time.Second)
	recover(1)
	checkBundle(t, b1[0], lg.Addr().String(), lb.Addr().String(), lb.MAC.String())

	// Re-arm: both checks must see the backend healthy again before a second
	// outage can fire. The log says so when a trigger re-arms.
	if !d.waitLog("re-armed", 30*time.Second) {
		t.Fatal("no trigger re-armed after the backend recovered")
	}
	time.Sleep(6 * time.Second) // past the snapshot cooldown, ARP healthy again
	outage(2)
	b2 := waitBundles(t, dir+"/snapshots", 2, 45*time.Second)
	recover(2)
	checkBundle(t, b2[1], lg.Addr().String(), lb.Addr().String(), lb.MAC.String())

	time.Sleep(2 * time.Second)
	if got := bundles(t, dir+"/snapshots"); len(got) != 2 {
		t.Errorf("want exactly 2 bundles for 2 outages, got %d: %v", len(got), got)
	}
	if err := d.stop(); err != nil {
		t.Errorf("arpbox exit: %v", err)
	}
}

type manifestFile struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// checkBundle asserts what a person opening the bundle needs to find.
func checkBundle(t *testing.T, b, gwIP, beIP, beMAC string) {
	t.Helper()
	pc := filepath.Join(b, "capture.pcapng.gz")
	if capinfosCount(t, pc) == 0 {
		t.Fatalf("%s is empty", pc)
	}
	frames := readFrames(t, pc)
	var trig *frame
	var lastReply float64
	var requests []frame
	for i, fr := range frames {
		if fr.Comment != "" {
			if trig != nil {
				t.Errorf("frames %d and %d both carry a comment", trig.No, fr.No)
			}
			trig = &frames[i]
		}
		switch {
		case fr.Op == 2 && fr.SPA == beIP && fr.EthSrc == beMAC:
			lastReply = fr.Time
		case fr.Op == 1 && fr.TPA == beIP && fr.SPA == gwIP:
			requests = append(requests, fr)
		}
	}
	if trig == nil || !strings.Contains(trig.Comment, "arpbox trigger") {
		t.Fatalf("no packet carries the trigger comment in %s", pc)
	}
	if lastReply == 0 {
		t.Errorf("no ARP replies from the backend before the failure in %s", pc)
	}
	if lastReply > trig.Time {
		t.Errorf("a reply from the backend after the trigger (%.3f > %.3f): the outage was not real", lastReply, trig.Time)
	}
	unanswered := 0
	for _, r := range requests {
		if r.Time > lastReply && r.Time <= trig.Time {
			unanswered++
		}
	}
	if unanswered == 0 {
		t.Errorf("no unanswered who-has for %s before the trigger (frame %d at %.3f; last reply %.3f; %d requests)", beIP, trig.No, trig.Time, lastReply, len(requests))
	}
	t.Logf("%s: %d frames, trigger at frame %d (%s), %d unanswered who-has for %s before it", filepath.Base(b), len(frames), trig.No, trig.Comment, unanswered, beIP)

	// The network state at T shows the backend unresolved.
	ns, err := os.ReadFile(filepath.Join(b, "netstate.txt"))
	if err != nil {
		t.Error(err)
	} else if !bytes.Contains(ns, []byte(beIP)) || !(bytes.Contains(ns, []byte("INCOMPLETE")) || bytes.Contains(ns, []byte("FAILED"))) {
		t.Errorf("netstate.txt does not show %s INCOMPLETE or FAILED:\n%s", beIP, ns)
	}

	// The manifest's hashes match the files, and the zip holds the same files.
	var m struct {
		Files []manifestFile `json:"files"`
	}
	raw, err := os.ReadFile(filepath.Join(b, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	if len(m.Files) < 3 {
		t.Errorf("manifest lists %d files", len(m.Files))
	}
	for _, f := range m.Files {
		data, err := os.ReadFile(filepath.Join(b, f.Name))
		if err != nil {
			t.Errorf("manifest names %s: %v", f.Name, err)
			continue
		}
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != f.SHA256 || int64(len(data)) != f.Size {
			t.Errorf("%s: manifest says %d bytes sha256 %s, file has %d bytes sha256 %x", f.Name, f.Size, f.SHA256, len(data), sum)
		}
	}
	zr, err := zip.OpenReader(b + ".zip")
	if err != nil {
		t.Fatalf("bundle zip: %v", err)
	}
	defer zr.Close()
	inZip := 0
	for _, zf := range zr.File {
		if strings.HasSuffix(zf.Name, "/") {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		zdata, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("zip %s: %v", zf.Name, err)
		}
		disk, err := os.ReadFile(filepath.Join(filepath.Dir(b), zf.Name))
		if err != nil {
			disk, err = os.ReadFile(filepath.Join(b, filepath.Base(zf.Name)))
		}
		if err != nil || !bytes.Equal(zdata, disk) {
			t.Errorf("zip entry %s differs from the bundle's file (%v)", zf.Name, err)
		}
		inZip++
	}
	ents, _ := os.ReadDir(b)
	if inZip != len(ents) {
		t.Errorf("zip holds %d files, bundle dir %d", inZip, len(ents))
	}
}
