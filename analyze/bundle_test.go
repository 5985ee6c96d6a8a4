package analyze_test

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arpbox/arpbox/analyze"
	at "github.com/arpbox/arpbox/analyze/analyzetest"
	"github.com/arpbox/arpbox/bundle"
)

// triggerFrames: 10.0.0.9 stops answering at 0 s (20 requests, the bigger
// outage) and recovers at 30 s; the trigger's target 10.0.0.5 misses three
// requests at 44-46 s, answers at 47 s, misses two more at 55-56 s and
// answers at 57.5 s; a request for 10.0.0.7 at 57.2 s gets no reply before
// the last packet (57.5 s). The window ends at 70 s.
func triggerFrames() []at.Frame {
	var fs []at.Frame
	nine := at.MAC("02:00:00:00:00:09")
	for i := range 20 {
		fs = exchange(fs, time.Duration(i)*1500*ms, "10.0.0.9", [6]byte{}, 0)
	}
	fs = exchange(fs, 30*time.Second, "10.0.0.9", nine, ms)
	fs = exchange(fs, 40*time.Second, "10.0.0.5", srvMAC, ms)
	for i := range 3 {
		fs = exchange(fs, 44*time.Second+time.Duration(i)*time.Second, "10.0.0.5", [6]byte{}, 0)
	}
	fs = exchange(fs, 47*time.Second, "10.0.0.5", srvMAC, ms)
	fs = exchange(fs, 55*time.Second, "10.0.0.5", [6]byte{}, 0)
	fs = exchange(fs, 56*time.Second, "10.0.0.5", [6]byte{}, 0)
	fs = exchange(fs, 57200*ms, "10.0.0.7", [6]byte{}, 0)
	fs = exchange(fs, 57499*ms, "10.0.0.5", srvMAC, ms)
	sortFrames(fs)
	return fs
}

// writeBundle writes a bundle directory testdata/<name>/ (capture and
// manifest) for a trigger event.
func writeBundle(t *testing.T, name string, fs []at.Frame, m *bundle.Manifest) string {
	t.Helper()
	dir := filepath.Join("testdata", name)
	var capture, man bytes.Buffer
	if err := at.WritePcapNG(&capture, fs); err != nil {
		t.Fatal(err)
	}
	if err := bundle.WriteManifest(&man, m); err != nil {
		t.Fatal(err)
	}
	mkdir(t, dir)
	writeOrCheck(t, filepath.Join(dir, bundle.FileCapturePlain), capture.Bytes())
	writeOrCheck(t, filepath.Join(dir, bundle.FileManifest), man.Bytes())
	return filepath.ToSlash(dir)
}

// TestBundleVerdictFollowsTrigger: a bundle's verdict leads with its
// trigger's target even when an older, bigger outage of another address
// precedes it; that one is told in the past tense ("recovered at …, 28 s
// before the trigger"). A manual trigger leads with what was going on at
// T. The capture ends at the window's end: requests more than a reply
// timeout before it are judged, not left "could not be judged".
func TestBundleVerdictFollowsTrigger(t *testing.T) {
	T := at0(58 * time.Second)
	win := bundle.ManifestWindow{Requested: bundle.Window{From: at0(-10 * time.Second), To: at0(70 * time.Second)}}
	for _, tc := range []struct {
		name  string
		event bundle.Event
		lead  string // the first finding's IP
	}{
		{"bundle-tcp", bundle.Event{Trigger: "web1", Check: "tcp", Target: "10.0.0.5:80", Reason: "3 consecutive failures: dial tcp 10.0.0.5:80: i/o timeout", Time: T}, "10.0.0.5"},
		{"bundle-manual", bundle.Event{Trigger: "manual", Check: "manual", Reason: "web1 slow", Time: T}, "10.0.0.5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &bundle.Manifest{Format: bundle.FormatVersion, Host: "gw1", Trigger: tc.event, Window: win}
			dir := writeBundle(t, tc.name, triggerFrames(), m)
			rep, err := analyze.Analyze(context.Background(), []string{dir}, analyze.Options{})
			if err != nil {
				t.Fatal(err)
			}
			fs := rep.Verdict.Findings
			if len(fs) < 2 || fs[0].IP != tc.lead || !strings.HasPrefix(rep.Verdict.Summary, tc.lead) {
				t.Fatalf("verdict does not lead with %s: %q; findings %+v", tc.lead, rep.Verdict.Summary, fs)
			}
			var old *analyze.Finding
			for i := range fs {
				if fs[i].IP == "10.0.0.9" {
					old = &fs[i]
				}
			}
			if old == nil || !strings.Contains(old.Summary, "recovered at 12:00:30.001") || !strings.Contains(old.Summary, "before the trigger") ||
				strings.Contains(old.Summary, "shortly before the trigger") {
				t.Errorf("older outage not in the past tense: %+v", old)
			}
			if !hasFinding(rep, "10.0.0.7") {
				t.Errorf("the request for 10.0.0.7 12.8 s before the window's end is not judged unanswered")
			}
			var txt, js bytes.Buffer
			rep.WriteText(&txt)
			rep.WriteJSON(&js)
			golden(t, filepath.Join("testdata", tc.name+".txt"), txt.Bytes())
			golden(t, filepath.Join("testdata", tc.name+".json"), js.Bytes())
			var back struct {
				Trigger analyze.Mark
			}
			if err := json.Unmarshal(js.Bytes(), &back); err != nil || !back.Trigger.WindowEnd.Equal(win.Requested.To) {
				t.Errorf("JSON trigger window end %v (%v), want %v", back.Trigger.WindowEnd, err, win.Requested.To)
			}
		})
	}
	// The capture alone ends at its last packet, 0.3 s after the request
	// for 10.0.0.7: that one is not judged.
	rep, err := analyze.Analyze(context.Background(), []string{filepath.Join("testdata", "bundle-tcp", bundle.FileCapturePlain)}, analyze.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if hasFinding(rep, "10.0.0.7") {
		t.Errorf("capture alone: the request for 10.0.0.7 0.3 s before the last packet was judged")
	}
}

func hasFinding(rep *analyze.Report, ip string) bool {
	for _, f := range rep.Verdict.Findings {
		if f.IP == ip {
			return true
		}
	}
	return false
}

// TestSpoofing: a bundle from host 10.0.0.2 whose default gateway is
// 10.0.0.1 (netstate.json). After normal exchanges, an attacker's MAC sends
// unsolicited replies claiming the gateway's address and a server's, a
// host without a DHCP lease announces 169.254.7.7, a host probes, and a
// host of another network claims 192.168.99.9. The verdict leads with the
// gateway spoof; the rest is named in arpwatch's words.
func TestSpoofing(t *testing.T) {
	me, gw, srv := at.MAC("02:00:00:00:00:02"), gwMAC, srvMAC
	evil, ll, stray := at.MAC("02:66:66:66:66:66"), at.MAC("02:00:00:00:a9:01"), at.MAC("02:00:00:00:99:09")
	var fs []at.Frame
	add := func(d time.Duration, b []byte) { fs = append(fs, at.Frame{Time: at0(d), Data: b}) }
	for i := range 3 {
		d := time.Duration(i) * time.Second
		add(d, at.Request(me, "10.0.0.2", "10.0.0.1"))
		add(d+ms, at.Reply(gw, "10.0.0.1", me, "10.0.0.2"))
		add(d+500*ms, at.Request(me, "10.0.0.2", "10.0.0.5"))
		add(d+501*ms, at.Reply(srv, "10.0.0.5", me, "10.0.0.2"))
	}
	for i := range 3 {
		d := 10*time.Second + time.Duration(i)*2*time.Second
		add(d, at.Reply(evil, "10.0.0.1", me, "10.0.0.2"))
		add(d+ms, at.Reply(evil, "10.0.0.5", me, "10.0.0.2"))
	}
	add(20*time.Second, at.Probe(ll, "169.254.7.7"))
	add(21*time.Second, at.Announcement(ll, "169.254.7.7"))
	add(22*time.Second, at.Request(stray, "192.168.99.9", "192.168.99.1"))
	m := &bundle.Manifest{Format: bundle.FormatVersion, Host: "web2",
		Trigger: bundle.Event{Trigger: "manual", Check: "manual", Reason: "slow", Time: at0(25 * time.Second)},
		Window:  bundle.ManifestWindow{Requested: bundle.Window{From: at0(-5 * time.Second), To: at0(28 * time.Second)}}}
	dir := writeBundle(t, "spoof", fs, m)
	netstate := `{"addrs":[{"iface":"eth0","family":"inet","prefix":"10.0.0.2/24"},{"iface":"lo","family":"inet","prefix":"127.0.0.1/8"}],
"routes":[{"dst":"0.0.0.0/0","gateway":"10.0.0.1","iface":"eth0","default":true}]}
`
	writeOrCheck(t, filepath.Join(dir, bundle.FileNetstateJSON), []byte(netstate))
	rep, err := analyze.Analyze(context.Background(), []string{dir}, analyze.Options{})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, f := range rep.Verdict.Findings {
		kinds[f.Kind+" "+f.IP] = f.Summary
	}
	for _, want := range []string{"unsolicited-reply 10.0.0.1", "unsolicited-reply 10.0.0.5", "multi-ip ", "gratuitous 169.254.7.7", "bogon "} {
		if _, ok := kinds[want]; !ok {
			t.Errorf("no %q finding; findings: %v", want, kinds)
		}
	}
	if f := rep.Verdict.Findings[0]; f.Kind != analyze.FindSpoof || f.IP != "10.0.0.1" || !strings.Contains(f.Summary, "default gateway") {
		t.Errorf("verdict does not lead with the gateway spoof: %+v", f)
	}
	if s := kinds["gratuitous 169.254.7.7"]; strings.Contains(s, "Failover") || !strings.Contains(s, "DHCP") {
		t.Errorf("link-local announcement: %s", s)
	}
	var txt, js bytes.Buffer
	rep.WriteText(&txt)
	rep.WriteJSON(&js)
	if !strings.Contains(txt.String(), "1 probe") {
		t.Errorf("the probe is not named in the address table:\n%s", txt.String())
	}
	golden(t, filepath.Join("testdata", "spoof.txt"), txt.Bytes())
	golden(t, filepath.Join("testdata", "spoof.json"), js.Bytes())
}
