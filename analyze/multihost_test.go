package analyze_test

import (
	"archive/zip"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arpbox/arpbox/analyze"
	"github.com/arpbox/arpbox/analyze/analyzetest"
	"github.com/arpbox/arpbox/bundle"
)

// writeBundleZip writes a bundle zip <dir>/<m.ID>.zip holding m and frames.
func writeBundleZip(t *testing.T, dir string, m *bundle.Manifest, frames []analyzetest.Frame) string {
	t.Helper()
	var capBuf, manBuf bytes.Buffer
	if err := analyzetest.WritePcapNG(&capBuf, frames); err != nil {
		t.Fatal(err)
	}
	if err := bundle.WriteManifest(&manBuf, m); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, m.ID+bundle.ZipExt)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for name, b := range map[string][]byte{bundle.FileCapturePlain: capBuf.Bytes(), bundle.FileManifest: manBuf.Bytes()} {
		w, err := zw.Create(m.ID + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return p
}

// TestAnalyzeIncident: the gateway's requests never reach the server,
// whose clock is 5 s ahead. No request is in both captures, so only the
// recorded offset lines them up; the report names the failing direction,
// the hosts, their offsets, and the peer that is missing.
func TestAnalyzeIncident(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	skew := 5 * time.Second
	gwMAC, srvMAC := analyzetest.MAC("02:00:00:00:00:01"), analyzetest.MAC("02:00:00:00:00:05")
	var gwFrames, srvFrames []analyzetest.Frame
	for i := range 10 {
		gwFrames = append(gwFrames, analyzetest.Frame{Time: t0.Add(time.Duration(i) * time.Second), Data: analyzetest.Request(gwMAC, "10.0.0.1", "10.0.0.5")})
	}
	// The server only announces itself, at the start and the end of its
	// window (on its own clock).
	for _, d := range []time.Duration{-2 * time.Second, 15 * time.Second} {
		srvFrames = append(srvFrames, analyzetest.Frame{Time: t0.Add(d + skew), Data: analyzetest.Gratuitous(srvMAC, "10.0.0.5")})
	}
	const id = "20261130T080000Z-gw-0a0b0c0d"
	off, rtt := 5000.0, 0.4
	win := bundle.ManifestWindow{Requested: bundle.Window{From: t0.Add(-time.Minute), To: t0.Add(time.Minute)}}
	writeBundleZip(t, dir, &bundle.Manifest{Format: 1, ID: "20261130T080000Z-api", Host: "gw", Window: win,
		Trigger: bundle.Event{Trigger: "api", Check: "api", Time: t0, Incident: id},
		Peers: []bundle.ManifestPeer{
			{Name: "server", URL: "https://srv:9310", Host: "srv", State: bundle.PeerOK, Attempts: 1, OffsetMS: &off, RTTMS: &rtt},
			{Name: "backup", URL: "https://bk:9310", State: bundle.PeerMissing, Attempts: 7, Error: "gave up after 7 attempts, 30m0s after T: connection refused"},
		}}, gwFrames)
	writeBundleZip(t, dir, &bundle.Manifest{Format: 1, ID: "20261130T080005Z-peer-api", Host: "srv", Window: win,
		Trigger: bundle.Event{Trigger: "peer-api", Check: "peer", Time: t0.Add(skew), Incident: id,
			Origin: &bundle.Origin{Host: "gw", T: t0, Sent: t0, Received: t0.Add(skew + time.Millisecond), OffsetBoundMS: 5001}}}, srvFrames)
	// Another incident's bundle in the same directory.
	other := t.TempDir()
	writeBundleZip(t, other, &bundle.Manifest{Format: 1, ID: "20261130T090000Z-web1", Host: "gw", Window: win,
		Trigger: bundle.Event{Trigger: "web1", Check: "tcp", Time: t0.Add(time.Hour), Incident: "20261130T090000Z-gw-ffffffff"}}, gwFrames[:2])

	rep, err := analyze.AnalyzeIncident(context.Background(), []string{dir}, "", analyze.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	rep.WriteText(&text)
	inc := rep.Incident
	if inc == nil || inc.ID != id || inc.Initiator != "gw" || len(inc.Hosts) != 2 {
		t.Fatalf("incident %+v\n%s", inc, text.String())
	}
	if h := inc.Hosts[1]; h.Host != "srv" || h.OffsetMS == nil || *h.OffsetMS != 5000 || !strings.Contains(h.OffsetBasis, "measured by gw") {
		t.Errorf("server host %+v", h)
	}
	if len(inc.Absent) != 1 || inc.Absent[0].Name != "backup" || inc.Absent[0].State != bundle.PeerMissing {
		t.Errorf("absent %+v", inc.Absent)
	}
	if len(rep.TwoSided) != 1 || rep.TwoSided[0].OffsetMS != 5000 || !strings.Contains(rep.TwoSided[0].OffsetBasis, "recorded") {
		t.Fatalf("two-sided %+v", rep.TwoSided)
	}
	if len(inc.Directions) != 1 {
		t.Fatalf("directions %+v\n%s", inc.Directions, text.String())
	}
	d := inc.Directions[0]
	// All 10 requests lie inside the server's window only once its clock is
	// moved back by the recorded 5 s; taken as simultaneous, the first 3
	// would precede its first frame and not count.
	if d.From != "gw" || d.To != "srv" || d.What != "requests" || d.Count != 10 {
		t.Errorf("direction %+v", d)
	}
	for _, want := range []string{"INCIDENT " + id + ", declared on gw", "gw → srv: 10 requests from 10.0.0.1 for 10.0.0.5 left gw and never arrived at srv", "backup: missing: gave up after 7 attempts"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}

	// Two incidents in two directories need -incident.
	if _, err := analyze.AnalyzeIncident(context.Background(), []string{dir, other}, "", analyze.Options{}); err == nil || !strings.Contains(err.Error(), "hold 2 incidents") {
		t.Errorf("two incidents without -incident: %v", err)
	}
	rep, err = analyze.AnalyzeIncident(context.Background(), []string{dir, other}, id, analyze.Options{})
	if err != nil || rep.Incident == nil || len(rep.Incident.Hosts) != 2 {
		t.Errorf("with -incident: %v %+v", err, rep)
	}
	// The zips given one by one, and a directory with one subdirectory per
	// host, are the same incident.
	zips, _ := filepath.Glob(filepath.Join(dir, "*.zip"))
	byHost := t.TempDir()
	for i, z := range zips {
		sub := filepath.Join(byHost, []string{"gw", "srv"}[i])
		os.MkdirAll(sub, 0o755)
		b, _ := os.ReadFile(z)
		os.WriteFile(filepath.Join(sub, filepath.Base(z)), b, 0o644)
	}
	for _, in := range [][]string{zips, {byHost}} {
		rep, err := analyze.AnalyzeIncident(context.Background(), in, "", analyze.Options{})
		if err != nil || rep.Incident == nil || len(rep.Incident.Directions) != 1 || rep.Incident.Directions[0].Count != 10 {
			t.Errorf("%v: %v, incident %+v", in, err, rep.Incident)
		}
	}
	// Plain captures are not an incident: Analyze as before.
	capFile := filepath.Join(t.TempDir(), "x.pcapng")
	var b bytes.Buffer
	analyzetest.WritePcapNG(&b, gwFrames)
	os.WriteFile(capFile, b.Bytes(), 0o644)
	rep, err = analyze.AnalyzeIncident(context.Background(), []string{capFile}, "", analyze.Options{})
	if err != nil || rep.Incident != nil {
		t.Errorf("plain capture: %v, incident %+v", err, rep.Incident)
	}
}
