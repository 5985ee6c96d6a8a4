package analyze_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arpbox/arpbox/analyze"
	at "github.com/arpbox/arpbox/analyze/analyzetest"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata pcaps and golden files")

var (
	t0     = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	gwMAC  = at.MAC("02:00:00:00:00:01")
	srvMAC = at.MAC("02:00:00:00:00:05")
	haA    = at.MAC("02:00:00:00:0a:01")
	haB    = at.MAC("02:00:00:00:0a:02")
)

func at0(d time.Duration) time.Time { return t0.Add(d) }

const ms = time.Millisecond

// exchange appends a request from the gateway for ip and, unless answer is
// zero, a reply from answer after lat.
func exchange(fs []at.Frame, when time.Duration, ip string, answer [6]byte, lat time.Duration) []at.Frame {
	fs = append(fs, at.Frame{Time: at0(when), Data: at.Request(gwMAC, "10.0.0.1", ip)})
	if answer != ([6]byte{}) {
		fs = append(fs, at.Frame{Time: at0(when + lat), Data: at.Reply(answer, ip, gwMAC, "10.0.0.1")})
	}
	return fs
}

// scenario is one capture per side.
type scenario struct {
	name  string
	sides map[string][]at.Frame // file base name → frames
	order []string
}

func scenarios() []scenario {
	var out []scenario
	one := func(name string, fs []at.Frame) {
		out = append(out, scenario{name: name, sides: map[string][]at.Frame{name: fs}, order: []string{name}})
	}

	// unanswered: 10.0.0.5 answers five times, then goes silent while the
	// gateway keeps asking (retries, then unicast refreshes fall back to broadcast).
	var fs []at.Frame
	for i := range 5 {
		fs = exchange(fs, time.Duration(i)*time.Second, "10.0.0.5", srvMAC, time.Duration(300+i*50)*time.Microsecond)
	}
	fs = append(fs, at.Frame{Time: at0(10 * time.Second), Data: at.UnicastRequest(gwMAC, "10.0.0.1", srvMAC, "10.0.0.5")})
	for i := range 13 {
		fs = exchange(fs, 11*time.Second+time.Duration(i)*3*time.Second, "10.0.0.5", [6]byte{}, 0)
	}
	fs = append(fs, at.Frame{Time: at0(55 * time.Second), Data: at.Request(srvMAC, "10.0.0.5", "10.0.0.1")})
	one("unanswered", fs)

	// flip-flop: two HA nodes take turns answering for 10.0.0.10.
	fs = nil
	for i := range 8 {
		m := haA
		if i%2 == 1 {
			m = haB
		}
		fs = exchange(fs, time.Duration(i)*5*time.Second, "10.0.0.10", m, 2*ms)
	}
	one("flipflop", fs)

	// duplicate: both nodes answer every request.
	fs = nil
	for i := range 4 {
		fs = exchange(fs, time.Duration(i)*10*time.Second, "10.0.0.10", haA, 1*ms)
		fs = append(fs, at.Frame{Time: at0(time.Duration(i)*10*time.Second + 3*ms), Data: at.Reply(haB, "10.0.0.10", gwMAC, "10.0.0.1")})
	}
	one("duplicate", fs)

	// gratuitous: a failover moves the virtual IP 10.0.0.100 from A to B,
	// which probes, announces and sends gratuitous replies (RFC 5227).
	fs = nil
	fs = exchange(fs, 0, "10.0.0.100", haA, 1*ms)
	fs = append(fs,
		at.Frame{Time: at0(20 * time.Second), Data: at.Announcement(haB, "10.0.0.100")},
		at.Frame{Time: at0(20*time.Second + 1*ms), Data: at.Gratuitous(haB, "10.0.0.100")},
		at.Frame{Time: at0(21 * time.Second), Data: at.Announcement(haB, "10.0.0.100")},
		at.Frame{Time: at0(30 * time.Second), Data: at.Probe(haA, "10.0.0.101")},
		at.Frame{Time: at0(30*time.Second + 2*ms), Data: at.Reply(haB, "10.0.0.101", haA, "0.0.0.0")},
	)
	fs = exchange(fs, 40*time.Second, "10.0.0.100", haB, 1*ms)
	one("gratuitous", fs)

	// mismatch: a bridge rewrites the Ethernet source but not the ARP sender.
	fs = nil
	for i := range 3 {
		req := at.Ethernet(at.Broadcast, at.MAC("02:00:00:00:0b:0b"), 0x0806, at.ARPBody(1, gwMAC, "10.0.0.1", [6]byte{}, "10.0.0.5"))
		fs = append(fs, at.Frame{Time: at0(time.Duration(i) * time.Second), Data: req},
			at.Frame{Time: at0(time.Duration(i)*time.Second + ms), Data: at.Reply(srvMAC, "10.0.0.5", gwMAC, "10.0.0.1")})
	}
	one("mismatch", fs)

	// storm: one host sends 300 requests in 1.5 s (all answered), on VLAN 100.
	fs = nil
	for i := range 300 {
		d := 2*time.Second + time.Duration(i)*5*ms
		fs = append(fs, at.Frame{Time: at0(d), Data: at.Request(at.MAC("02:00:00:00:0e:0e"), "10.0.0.66", "10.0.0.1", 100)},
			at.Frame{Time: at0(d + 100*time.Microsecond), Data: at.Reply(gwMAC, "10.0.0.1", at.MAC("02:00:00:00:0e:0e"), "10.0.0.66", 100)})
	}
	one("storm", fs)

	// ndp: 2001:db8::5 stops answering neighbor solicitations.
	fs = nil
	for i := range 3 {
		d := time.Duration(i) * time.Second
		fs = append(fs, at.Frame{Time: at0(d), Data: at.NeighborSolicitation(gwMAC, "2001:db8::1", "2001:db8::5")},
			at.Frame{Time: at0(d + ms), Data: at.NeighborAdvertisement(srvMAC, "2001:db8::5", gwMAC, "2001:db8::1")})
	}
	for i := range 5 {
		fs = append(fs, at.Frame{Time: at0(10*time.Second + time.Duration(i)*time.Second), Data: at.NeighborSolicitation(gwMAC, "2001:db8::1", "2001:db8::5")})
	}
	fs = append(fs, at.Frame{Time: at0(20 * time.Second), Data: at.NeighborSolicitation(srvMAC, "2001:db8::5", "2001:db8::1")})
	one("ndp", fs)

	// Two-sided: the gateway's capture and the backend's, backend clock 2.5 s ahead.
	off := 2500 * ms
	two := func(name string, fail func(gw, be []at.Frame, d time.Duration) ([]at.Frame, []at.Frame)) {
		var gw, be []at.Frame
		for i := range 4 { // healthy exchanges first, seen on both sides
			d := time.Duration(i) * time.Second
			gw = exchange(gw, d, "10.0.0.5", srvMAC, 400*time.Microsecond)
			be = append(be, at.Frame{Time: at0(d + off + 100*time.Microsecond), Data: at.Request(gwMAC, "10.0.0.1", "10.0.0.5")},
				at.Frame{Time: at0(d + off + 300*time.Microsecond), Data: at.Reply(srvMAC, "10.0.0.5", gwMAC, "10.0.0.1")})
		}
		for i := range 6 {
			gw, be = fail(gw, be, 10*time.Second+time.Duration(i)*time.Second)
		}
		// The backend keeps talking, so its capture covers the whole window.
		for _, d := range []time.Duration{9 * time.Second, 20 * time.Second} {
			be = append(be, at.Frame{Time: at0(d + off), Data: at.Request(srvMAC, "10.0.0.5", "10.0.0.9")},
				at.Frame{Time: at0(d + off + ms), Data: at.Reply(at.MAC("02:00:00:00:00:09"), "10.0.0.9", srvMAC, "10.0.0.5")})
		}
		gw = append(gw, at.Frame{Time: at0(20 * time.Second), Data: at.Request(gwMAC, "10.0.0.1", "10.0.0.9")})
		sortFrames(be)
		sortFrames(gw)
		out = append(out, scenario{name: name, sides: map[string][]at.Frame{name + "-gateway": gw, name + "-backend": be}, order: []string{name + "-gateway", name + "-backend"}})
	}
	two("twoside-replylost", func(gw, be []at.Frame, d time.Duration) ([]at.Frame, []at.Frame) {
		gw = append(gw, at.Frame{Time: at0(d), Data: at.Request(gwMAC, "10.0.0.1", "10.0.0.5")})
		be = append(be, at.Frame{Time: at0(d + off + 100*time.Microsecond), Data: at.Request(gwMAC, "10.0.0.1", "10.0.0.5")},
			at.Frame{Time: at0(d + off + 300*time.Microsecond), Data: at.Reply(srvMAC, "10.0.0.5", gwMAC, "10.0.0.1")})
		return gw, be
	})
	two("twoside-noreply", func(gw, be []at.Frame, d time.Duration) ([]at.Frame, []at.Frame) {
		gw = append(gw, at.Frame{Time: at0(d), Data: at.Request(gwMAC, "10.0.0.1", "10.0.0.5")})
		be = append(be, at.Frame{Time: at0(d + off + 100*time.Microsecond), Data: at.Request(gwMAC, "10.0.0.1", "10.0.0.5")})
		return gw, be
	})
	two("twoside-neverarrived", func(gw, be []at.Frame, d time.Duration) ([]at.Frame, []at.Frame) {
		gw = append(gw, at.Frame{Time: at0(d), Data: at.Request(gwMAC, "10.0.0.1", "10.0.0.5")})
		return gw, be
	})
	return out
}

func sortFrames(fs []at.Frame) {
	for i := 1; i < len(fs); i++ {
		for j := i; j > 0 && fs[j].Time.Before(fs[j-1].Time); j-- {
			fs[j], fs[j-1] = fs[j-1], fs[j]
		}
	}
}

// writeCapture writes frames to testdata/<name>.pcapng, or with -update off
// checks that the committed file is what the builder produces.
func writeCapture(t *testing.T, name string, frames []at.Frame) string {
	t.Helper()
	var buf bytes.Buffer
	if err := at.WritePcapNG(&buf, frames); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", name+".pcapng")
	old, err := os.ReadFile(path)
	if *update || err != nil {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	} else if !bytes.Equal(old, buf.Bytes()) {
		t.Fatalf("%s differs from what the builder makes; run with -update", path)
	}
	return path
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, d)
	}
}

func TestGolden(t *testing.T) {
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			var paths []string
			for _, n := range sc.order {
				p := writeCapture(t, n, sc.sides[n])
				paths = append(paths, filepath.ToSlash(p)) // the golden files name "testdata/…" on every OS
				checkWithTshark(t, p, len(sc.sides[n]))
			}
			rep, err := analyze.Analyze(context.Background(), paths, analyze.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var txt, js bytes.Buffer
			if err := rep.WriteText(&txt); err != nil {
				t.Fatal(err)
			}
			if err := rep.WriteJSON(&js); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", sc.name+".txt"), txt.Bytes())
			golden(t, filepath.Join("testdata", sc.name+".json"), js.Bytes())
		})
	}
}

// checkWithTshark verifies a written capture with the real tool.
func checkWithTshark(t *testing.T, path string, frames int) {
	t.Helper()
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Logf("tshark not installed; not cross-checking %s", path)
		return
	}
	out, err := exec.Command("tshark", "-r", path, "-T", "fields", "-e", "frame.number").Output()
	if err != nil {
		t.Fatalf("tshark -r %s: %v", path, err)
	}
	if n := len(strings.Fields(string(out))); n != frames {
		t.Fatalf("tshark reads %d frames from %s, want %d", n, path, frames)
	}
}

var _ = fmt.Sprint

// TestHTML renders each scenario with a trigger and neighbor events. The page
// must be self-contained; set ABXAN_HTML_DIR to keep the pages for a look in
// a browser.
func TestHTML(t *testing.T) {
	for _, sc := range scenarios() {
		var paths []string
		for _, n := range sc.order {
			paths = append(paths, filepath.Join("testdata", n+".pcapng"))
		}
		opts := analyze.Options{
			Trigger: &analyze.Mark{Time: at0(16 * time.Second), Label: "web1 (tcp 10.0.0.5:80): 3 consecutive failures"},
			Neighbor: []analyze.NeighborEvent{
				{Time: at0(5 * time.Second), IP: "10.0.0.5", State: "STALE"},
				{Time: at0(11 * time.Second), IP: "10.0.0.5", State: "INCOMPLETE"},
				{Time: at0(14 * time.Second), IP: "10.0.0.5", State: "FAILED"},
			},
		}
		rep, err := analyze.Analyze(context.Background(), paths, opts)
		if err != nil {
			t.Fatalf("%s: %v", sc.name, err)
		}
		var b bytes.Buffer
		if err := rep.WriteHTML(&b); err != nil {
			t.Fatal(err)
		}
		page := b.String()
		for _, bad := range []string{"src=", "href=", "@import", "url("} {
			if strings.Contains(page, bad) {
				t.Errorf("%s: page is not self-contained: contains %q", sc.name, bad)
			}
		}
		if !strings.Contains(page, "<svg") || !strings.Contains(page, rep.Verdict.Findings[0].Title[:10]) {
			t.Errorf("%s: page lacks the timeline or the verdict", sc.name)
		}
		if dir := os.Getenv("ABXAN_HTML_DIR"); dir != "" {
			if err := os.WriteFile(filepath.Join(dir, sc.name+".html"), b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
