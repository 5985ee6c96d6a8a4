package analyze_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/arpbox/arpbox/analyze"
	"github.com/arpbox/arpbox/analyze/analyzetest"
	"github.com/arpbox/arpbox/bundle"
)

// incidentReport analyzes two bundles of one incident, written by hosts gw
// and srv: the gateway's requests never reach the server, whose clock is
// 5 s ahead; a third peer, backup, is missing.
func incidentReport(t *testing.T, gw, srv string) *analyze.Report {
	t.Helper()
	dir := t.TempDir()
	t0 := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	skew := 5 * time.Second
	gwMAC, srvMAC := analyzetest.MAC("02:00:00:00:00:01"), analyzetest.MAC("02:00:00:00:00:05")
	var gwFrames, srvFrames []analyzetest.Frame
	for i := range 10 {
		gwFrames = append(gwFrames, analyzetest.Frame{Time: t0.Add(time.Duration(i) * time.Second), Data: analyzetest.Request(gwMAC, "10.0.0.1", "10.0.0.5")})
	}
	for _, d := range []time.Duration{-2 * time.Second, 15 * time.Second} {
		srvFrames = append(srvFrames, analyzetest.Frame{Time: t0.Add(d + skew), Data: analyzetest.Gratuitous(srvMAC, "10.0.0.5")})
	}
	const id = "20261130T080000Z-gw-0a0b0c0d"
	off, rtt := 5000.0, 0.4
	win := bundle.ManifestWindow{Requested: bundle.Window{From: t0.Add(-time.Minute), To: t0.Add(time.Minute)}}
	writeBundleZip(t, dir, &bundle.Manifest{Format: 1, ID: "20261130T080000Z-api", Host: gw, Window: win,
		Trigger: bundle.Event{Trigger: "api", Check: "api", Time: t0, Incident: id},
		Peers: []bundle.ManifestPeer{
			{Name: "server", URL: "https://srv:9310", Host: srv, State: bundle.PeerOK, Attempts: 1, OffsetMS: &off, RTTMS: &rtt},
			{Name: "backup", URL: "https://bk:9310", State: bundle.PeerMissing, Attempts: 7, Error: "gave up after 7 attempts, 30m0s after T: connection refused"},
		}}, gwFrames)
	writeBundleZip(t, dir, &bundle.Manifest{Format: 1, ID: "20261130T080005Z-peer-api", Host: srv, Window: win,
		Trigger: bundle.Event{Trigger: "peer-api", Check: "peer", Time: t0.Add(skew), Incident: id,
			Origin: &bundle.Origin{Host: gw, T: t0, Sent: t0, Received: t0.Add(skew + time.Millisecond), OffsetBoundMS: 5001}}}, srvFrames)
	rep, err := analyze.AnalyzeIncident(context.Background(), []string{dir}, "", analyze.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Incident == nil {
		t.Fatal("no incident in the report")
	}
	return rep
}

// incidentSection cuts the INCIDENT section out of an HTML page.
func incidentSection(t *testing.T, page string) string {
	t.Helper()
	i := strings.Index(page, "<h2>Incident ")
	if i < 0 {
		t.Fatalf("the page has no incident section:\n%s", page)
	}
	j := strings.Index(page[i:], "</table>\n")
	if j < 0 {
		t.Fatalf("the incident section has no table:\n%s", page[i:])
	}
	return page[i : i+j+len("</table>\n")]
}

// TestIncidentHTML: the HTML report of an incident has the INCIDENT
// section (golden), before the findings; host names are escaped.
func TestIncidentHTML(t *testing.T) {
	var b bytes.Buffer
	if err := incidentReport(t, "gw", "srv").WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	sec := incidentSection(t, page)
	golden(t, "testdata/incident.html.golden", []byte(sec))
	if f := strings.Index(page, "Findings, most likely cause first"); f >= 0 && f < strings.Index(page, sec) {
		t.Error("the incident section comes after the findings")
	}

	b.Reset()
	if err := incidentReport(t, `gw<script>alert(1)</script>`, `srv&"co"`).WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	sec = incidentSection(t, b.String())
	if strings.Contains(sec, "<script>") || strings.Contains(sec, `srv&"`) {
		t.Errorf("host names are not escaped:\n%s", sec)
	}
	for _, want := range []string{"gw&lt;script&gt;alert(1)&lt;/script&gt;", "srv&amp;&#34;co&#34;"} {
		if !strings.Contains(sec, want) {
			t.Errorf("the section lacks %q:\n%s", want, sec)
		}
	}

	// A report without an incident has no such section.
	rep := incidentReport(t, "gw", "srv")
	rep.Incident = nil
	b.Reset()
	rep.WriteHTML(&b)
	if strings.Contains(b.String(), "<h2>Incident ") {
		t.Error("an incident section without an incident")
	}
}

// TestIncidentJSON: the incident key of the JSON report, as analyze/doc.go
// documents it.
func TestIncidentJSON(t *testing.T) {
	var b bytes.Buffer
	if err := incidentReport(t, "gw", "srv").WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var v struct {
		Incident map[string]json.RawMessage `json:"incident"`
	}
	if err := json.Unmarshal(b.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "initiator", "hosts", "absent", "directions"} {
		if _, ok := v.Incident[k]; !ok {
			t.Errorf("incident lacks %q: %s", k, b.String())
		}
	}
	var hosts []map[string]any
	json.Unmarshal(v.Incident["hosts"], &hosts)
	for _, h := range hosts {
		for _, k := range []string{"host", "bundle", "path", "clock_offset_ms", "clock_offset_basis", "window"} {
			if _, ok := h[k]; !ok {
				t.Errorf("incident host lacks %q: %v", k, h)
			}
		}
	}
	var dirs []map[string]any
	json.Unmarshal(v.Incident["directions"], &dirs)
	if len(dirs) != 1 {
		t.Fatalf("directions: %s", v.Incident["directions"])
	}
	for _, k := range []string{"from", "to", "what", "asker", "target", "count", "text"} {
		if _, ok := dirs[0][k]; !ok {
			t.Errorf("direction lacks %q: %v", k, dirs[0])
		}
	}
}

// TestIncidentOneBundle: the initiator's bundle alone, its incident named
// (as `arpbox report s3://…` does when only one host's bundle is in the
// store), is reported as the incident: the peers without a bundle are
// listed. An incident no input carries is ErrNoIncidentBundle.
func TestIncidentOneBundle(t *testing.T) {
	full := incidentReport(t, "gw", "srv")
	gwPath := full.Incident.Hosts[0].Path
	rep, err := analyze.AnalyzeIncident(context.Background(), []string{gwPath}, full.Incident.ID, analyze.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var text, page bytes.Buffer
	rep.WriteText(&text)
	rep.WriteHTML(&page)
	for _, want := range []string{
		"INCIDENT 20261130T080000Z-gw-0a0b0c0d, declared on gw",
		"server (srv): froze the incident, but its bundle is not among the inputs",
		"Only this host's bundle is among the inputs",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	for _, want := range []string{
		"<h2>Incident 20261130T080000Z-gw-0a0b0c0d</h2>",
		`<td class="bad">server (srv)</td><td colspan="4">froze the incident, but its bundle is not among the inputs</td>`,
		"<p>Only this host's bundle is among the inputs: no direction between hosts to check.</p>",
	} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	if len(rep.Incident.Hosts) != 1 || len(rep.Incident.Absent) != 2 {
		t.Errorf("incident %+v", rep.Incident)
	}
	if _, err := analyze.AnalyzeIncident(context.Background(), []string{gwPath}, "20261130T090000Z-gw-ffffffff", analyze.Options{}); !errors.Is(err, analyze.ErrNoIncidentBundle) {
		t.Errorf("another incident's id: %v, want ErrNoIncidentBundle", err)
	}
}

// TestIncidentWithoutPeers: a bundle whose host has no peers, named by its
// incident id, is reported as a bundle: no INCIDENT section.
func TestIncidentWithoutPeers(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	const id = "20261130T080000Z-gw-0a0b0c0d"
	p := writeBundleZip(t, dir, &bundle.Manifest{Format: 1, ID: "20261130T080000Z-api", Host: "gw",
		Trigger: bundle.Event{Trigger: "api", Check: "api", Time: t0, Incident: id}},
		[]analyzetest.Frame{{Time: t0, Data: analyzetest.Request(analyzetest.MAC("02:00:00:00:00:01"), "10.0.0.1", "10.0.0.5")}})
	rep, err := analyze.AnalyzeIncident(context.Background(), []string{p}, id, analyze.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Incident != nil || len(rep.Sides) != 1 {
		t.Errorf("incident %+v, %d sides: want the bundle alone", rep.Incident, len(rep.Sides))
	}
}
