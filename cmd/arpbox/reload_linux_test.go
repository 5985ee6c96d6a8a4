package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/arpbox/arpbox/analyze/analyzetest"
	"github.com/arpbox/arpbox/internal/nstest"
)

// arpStream sends ARP requests at a steady rate from one interface, each
// with its own target address (10.250.<n/256>.<n%256>), so that a
// recording can be checked frame by frame.
type arpStream struct {
	sent   atomic.Int64
	failed atomic.Int64 // sends the kernel refused (a link that is down)
	stop   chan struct{}
	done   chan struct{}
}

// startARPStream opens a raw socket on ifname inside h and sends one ARP
// request every interval from mac/spa until stopped (at most 60000).
func startARPStream(t *testing.T, h *nstest.Host, ifname string, mac net.HardwareAddr, spa string, every time.Duration) *arpStream {
	t.Helper()
	var fd, index int
	err := h.Do(func() error {
		var err error
		if fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0); err != nil {
			return err
		}
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			unix.Close(fd)
			return err
		}
		index = ifi.Index
		return nil
	})
	if err != nil {
		t.Fatalf("ARP stream socket in %s: %v", h.NS, err)
	}
	s := &arpStream{stop: make(chan struct{}), done: make(chan struct{})}
	var src [6]byte
	copy(src[:], mac)
	go func() {
		defer close(s.done)
		defer unix.Close(fd)
		sa := &unix.SockaddrLinklayer{Ifindex: index, Halen: 6}
		tick := time.NewTicker(every)
		defer tick.Stop()
		for n := 0; n < 60000; {
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
			frame := analyzetest.Request(src, spa, streamTarget(n))
			if err := unix.Sendto(fd, frame, 0, sa); err != nil {
				s.failed.Add(1)
				continue
			}
			n++
			s.sent.Store(int64(n))
		}
	}()
	t.Cleanup(func() { s.halt() })
	return s
}

func streamTarget(n int) string { return fmt.Sprintf("10.250.%d.%d", n>>8, n&255) }

// halt stops the stream and returns how many frames it sent.
func (s *arpStream) halt() int {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
	return int(s.sent.Load())
}

// streamRecorded returns the distinct targets of the stream from mac (by
// its sender address spa) in the ring's segments, read with tshark, and
// how many frames carried a target seen before.
func streamRecorded(t *testing.T, ringDir, spa string) (targets map[string]bool, dups int) {
	t.Helper()
	sealed, parts := ringFiles(t, ringDir)
	if len(parts) != 0 {
		t.Errorf("unsealed segments after stop: %v", parts)
	}
	targets = map[string]bool{}
	for _, f := range sealed {
		for _, fr := range readFrames(t, f) {
			if fr.Op != 1 || fr.SPA != spa {
				continue
			}
			if targets[fr.TPA] {
				dups++
			}
			targets[fr.TPA] = true
		}
	}
	return targets, dups
}

// TestReloadKeepsEveryFrame: while a steady ARP stream runs, the config is
// rewritten five times (a trigger added, an invalid value, an interface
// added, an unknown key, the interface removed), by an editor's rename and
// by writing in place; every frame sent is in the ring, the invalid files
// are refused with file:line, the added interface records while it is
// configured, and `arpbox status` shows the digest in force and the last
// reload.
func TestReloadKeepsEveryFrame(t *testing.T) {
	nstest.RequireRoot(t, "tshark")
	gw, peer := nstest.NewHost(t, "gw"), nstest.NewHost(t, "pe")
	lg1, lp1 := nstest.Veth(t, gw, "", peer, "")
	lg2, lp2 := nstest.Veth(t, gw, "", peer, "")
	dir := t.TempDir()
	body := func(ifaces, extra string) string {
		return fmt.Sprintf("capture:\n  interfaces: [%s]\nring:\n  dir: %s/ring\n  segment_size: 256KiB\nsnapshots:\n  dir: %s/snapshots\n%scontrol:\n  socket: %s/arpbox.sock\n",
			ifaces, dir, dir, extra, dir)
	}
	cfgPath := filepath.Join(dir, "arpbox.yaml")
	write := func(text string, rename bool) {
		t.Helper()
		target := cfgPath
		if rename {
			target = filepath.Join(dir, ".arpbox.yaml.new")
		}
		if err := os.WriteFile(target, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if rename {
			if err := os.Rename(target, cfgPath); err != nil {
				t.Fatal(err)
			}
		}
	}
	write(body(lg1.Name, ""), false)
	d := startDaemon(t, gw, cfgPath)
	if !d.waitLog("capture: started", 20*time.Second) {
		t.Fatal("arpbox did not start capturing")
	}
	main := startARPStream(t, peer, lp1.Name, lp1.MAC, "10.250.255.1", 5*time.Millisecond)
	second := startARPStream(t, peer, lp2.Name, lp2.MAC, "10.250.255.2", 20*time.Millisecond)

	trigger := "triggers:\n  - name: quiet\n    check: arp-unanswered\n    target: 10.250.254.254\n    interval: 500ms\n"
	steps := []struct {
		name, text string
		rename, ok bool
	}{
		{"a trigger added", body(lg1.Name, "") + trigger, true, true},
		{"an invalid size", strings.Replace(body(lg1.Name, ""), "256KiB", "huge", 1) + trigger, false, false},
		{"an interface added", body(lg1.Name+", "+lg2.Name, "") + trigger, true, true},
		{"an unknown key", body(lg1.Name+", "+lg2.Name, "  bogus: 1\n") + trigger, false, false},
		{"the interface removed", body(lg1.Name, "  before: 2m\n") + trigger, true, true},
	}
	for i, st := range steps {
		time.Sleep(1500 * time.Millisecond)
		before := strings.Count(d.log(), "config reload")
		write(st.text, st.rename)
		deadline := time.Now().Add(15 * time.Second)
		for strings.Count(d.log(), "config reload") == before && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		lines := strings.Split(strings.TrimSpace(d.log()), "\n")
		last := lines[len(lines)-1]
		for _, l := range lines {
			if strings.Contains(l, "config reload") {
				last = l
			}
		}
		switch {
		case strings.Count(d.log(), "config reload") == before:
			t.Fatalf("step %d (%s): no reload logged", i+1, st.name)
		case st.ok && !strings.Contains(last, "config reloaded"):
			t.Errorf("step %d (%s): want applied, log: %s", i+1, st.name, last)
		case !st.ok && !strings.Contains(last, cfgPath+":"):
			t.Errorf("step %d (%s): want refused with %s:line, log: %s", i+1, st.name, cfgPath, last)
		}
		t.Logf("step %d (%s): %s", i+1, st.name, last)
	}
	time.Sleep(1500 * time.Millisecond)

	// Status: the digest in force is the last valid file's (the last one
	// written), and the last reload applied it.
	var st struct {
		ConfigDigest string `json:"config_digest"`
		LastReload   struct {
			OK      bool     `json:"ok"`
			Applied []string `json:"applied"`
		} `json:"last_reload"`
		Interfaces []struct {
			Name string `json:"name"`
		} `json:"interfaces"`
	}
	var out, errb strings.Builder
	if code := cmdStatus([]string{"-socket", dir + "/arpbox.sock"}, &out, &errb); code != 0 {
		t.Fatalf("arpbox status: exit %d: %s", code, errb.String())
	}
	if err := json.Unmarshal([]byte(out.String()), &st); err != nil {
		t.Fatalf("status: %v\n%s", err, out.String())
	}
	b, _ := os.ReadFile(cfgPath)
	sum := sha256.Sum256(b)
	if st.ConfigDigest != hex.EncodeToString(sum[:]) || !st.LastReload.OK || len(st.Interfaces) != 1 || st.Interfaces[0].Name != lg1.Name {
		t.Errorf("status after the reloads: %s", out.String())
	}

	sent := main.halt()
	sentSecond := second.halt()
	time.Sleep(1500 * time.Millisecond) // the kernel hands over its last block
	if err := d.stop(); err != nil {
		t.Fatalf("arpbox exit: %v", err)
	}
	got, dups := streamRecorded(t, dir+"/ring", "10.250.255.1")
	var missing []string
	for n := range sent {
		if !got[streamTarget(n)] {
			missing = append(missing, streamTarget(n))
		}
	}
	t.Logf("main stream: sent %d (%d refused by the kernel), recorded %d distinct, %d duplicates, missing %d", sent, main.failed.Load(), len(got), dups, len(missing))
	if len(missing) > 0 || dups > 0 {
		t.Errorf("frames lost across reloads: %d of %d missing (first %v), %d recorded twice", len(missing), sent, missing[:min(len(missing), 10)], dups)
	}
	got2, _ := streamRecorded(t, dir+"/ring", "10.250.255.2")
	t.Logf("second stream: sent %d, recorded %d while %s was configured", sentSecond, len(got2), lg2.Name)
	if len(got2) == 0 || len(got2) >= sentSecond {
		t.Errorf("second interface: recorded %d of %d; want some (while added), not all", len(got2), sentSecond)
	}
}

// TestReloadCaptureFilter: a new capture filter is attached to the open
// capture (logged): no frame of a steady ARP stream is lost, and the
// segments after it name the new filter.
func TestReloadCaptureFilter(t *testing.T) {
	nstest.RequireRoot(t, "tshark", "capinfos")
	gw, peer := nstest.NewHost(t, "gw"), nstest.NewHost(t, "pe")
	lg, lp := nstest.Veth(t, gw, "", peer, "")
	dir := t.TempDir()
	body := func(filter string) string {
		return fmt.Sprintf("capture:\n  interfaces: [%s]\n  filter: %s\nring:\n  dir: %s/ring\nsnapshots:\n  dir: %s/snapshots\ncontrol:\n  socket: %s/arpbox.sock\n",
			lg.Name, filter, dir, dir, dir)
	}
	cfgPath := filepath.Join(dir, "arpbox.yaml")
	if err := os.WriteFile(cfgPath, []byte(body("arp")), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, gw, cfgPath)
	if !d.waitLog("capture: started", 20*time.Second) {
		t.Fatal("arpbox did not start capturing")
	}
	stream := startARPStream(t, peer, lp.Name, lp.MAC, "10.250.255.1", 5*time.Millisecond)
	time.Sleep(1500 * time.Millisecond)
	if err := os.WriteFile(cfgPath, []byte(body("arp+ndp")), 0o644); err != nil {
		t.Fatal(err)
	}
	if !d.waitLog("capture: new filter attached to the open capture", 15*time.Second) {
		t.Fatal("the new filter was not attached")
	}
	time.Sleep(1500 * time.Millisecond)
	sent := stream.halt()
	time.Sleep(1500 * time.Millisecond)
	if err := d.stop(); err != nil {
		t.Fatalf("arpbox exit: %v", err)
	}
	got, dups := streamRecorded(t, dir+"/ring", "10.250.255.1")
	lost := sent - len(got)
	t.Logf("sent %d, recorded %d (%d duplicates): %d lost across the filter change", sent, len(got), dups, lost)
	if lost != 0 || dups > 0 {
		t.Errorf("%d of %d frames lost across the filter change, %d duplicates", lost, sent, dups)
	}
	if strings.Contains(d.log(), "reopen") {
		t.Error("the capture was reopened for a new filter")
	}
	sealed, _ := ringFiles(t, dir+"/ring")
	last := sealed[len(sealed)-1]
	if out := capinfosOutput(t, last); !strings.Contains(out, "Filter string = arp or (ip6") {
		t.Errorf("the last segment does not name the new filter:\n%s", out)
	}
}

func capinfosOutput(t *testing.T, f string) string {
	t.Helper()
	out, err := exec.Command("capinfos", "-M", f).CombinedOutput()
	if err != nil {
		t.Fatalf("capinfos %s: %v\n%s", f, err, out)
	}
	return string(out)
}
