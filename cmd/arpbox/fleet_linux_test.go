package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arpbox/arpbox/bundle"
	"github.com/arpbox/arpbox/internal/nstest"
)

// fleetToken writes a fresh token into dir/name.
func fleetToken(t *testing.T, dir, name string) (tok, file string) {
	t.Helper()
	b := make([]byte, 16)
	rand.Read(b)
	tok = hex.EncodeToString(b)
	file = filepath.Join(dir, name)
	if err := os.WriteFile(file, []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return tok, file
}

// startNamed runs `arpbox run -config cfg` inside h under its own host
// name (a UTS namespace of its own), so two daemons on one machine write
// bundles from two hosts.
func startNamed(t *testing.T, h *nstest.Host, hostname, cfg string) *daemonProc {
	t.Helper()
	d := startCommand(t, h.Command(context.Background(), "unshare", "--uts", "sh", "-c",
		fmt.Sprintf("hostname %s && exec %s run -config %s", hostname, binPath, cfg)))
	if !d.waitLog("arpbox recording", 20*time.Second) {
		t.Fatalf("arpbox on %s did not start recording", hostname)
	}
	return d
}

func readManifest(t *testing.T, dir string) *bundle.Manifest {
	t.Helper()
	m, err := bundle.ReadManifestDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestFleetPeers runs two arpboxes as each other's peers, gateway —
// switch (a Linux bridge) — server, the switch dropping the server's ARP
// replies for one of its addresses. One `arpbox snapshot` on the gateway
// yields a bundle on both hosts with one incident id and overlapping
// windows; the server does not ask the gateway back; the multi-host
// report says the replies left the server and never reached the gateway.
// Then the server is down when the gateway fires again, and still gets
// its bundle once it is back.
func TestFleetPeers(t *testing.T) {
	nstest.RequireRoot(t, "nft", "arping", "capinfos", "unshare")
	gw, sw, srv := nstest.NewHost(t, "fg"), nstest.NewHost(t, "fs"), nstest.NewHost(t, "fv")
	gwL, swA := nstest.Veth(t, gw, "10.211.0.1/24", sw, "")
	swB, srvL := nstest.Veth(t, sw, "", srv, "10.211.0.2/24")
	srv.MustRun("ip", "addr", "add", "10.211.0.3/24", "dev", srvL.Name)
	sw.MustRun("ip", "link", "add", "br0", "type", "bridge")
	sw.MustRun("ip", "link", "set", swA.Name, "master", "br0")
	sw.MustRun("ip", "link", "set", swB.Name, "master", "br0")
	sw.MustRun("ip", "link", "set", "br0", "up")

	dir := t.TempDir()
	_, gwTok := fleetToken(t, dir, "gw.token")
	_, srvTok := fleetToken(t, dir, "srv.token")
	conf := func(name, iface, listen, tok, peerName, peerURL, peerTok string) string {
		return writeConfig(t, fmt.Sprintf(`capture:
  interfaces: [%[2]s]
ring:
  dir: %[1]s/%[3]s/ring
  segment_duration: 2s
snapshots:
  dir: %[1]s/%[3]s/snapshots
  before: 1m
  after: 2s
  cooldown: 0s
control:
  socket: %[1]s/%[3]s/arpbox.sock
  listen: "%[4]s"
  token_file: %[5]s
peers:
  - name: %[6]s
    url: %[7]s
    token_file: %[8]s
    retry_for: 5m
`, dir, iface, name, listen, tok, peerName, peerURL, peerTok))
	}
	gwCfg := conf("gw", gwL.Name, "10.211.0.1:9311", gwTok, "server", "http://10.211.0.2:9311", srvTok)
	srvCfg := conf("srv", srvL.Name, "10.211.0.2:9311", srvTok, "gateway", "http://10.211.0.1:9311", gwTok)
	dg := startNamed(t, gw, "fleet-gw", gwCfg)
	ds := startNamed(t, srv, "fleet-srv", srvCfg)

	// Healthy exchanges first, then the switch drops the server's replies
	// for 10.211.0.3 (its API address, .2, still answers).
	arpingFrom(gw, gwL.Name, "10.211.0.3", 3)
	sw.MustRun("nft", "add", "table", "bridge", "f")
	sw.MustRun("nft", "add", "chain", "bridge", "f", "abxfwd", "{ type filter hook forward priority 0; }")
	sw.MustRun("nft", "add", "rule", "bridge", "f", "abxfwd", "arp", "operation", "reply", "arp", "saddr", "ip", "10.211.0.3", "drop")
	arpingFrom(gw, gwL.Name, "10.211.0.3", 6)

	out, err := exec.Command(binPath, "snapshot", "-config", gwCfg, "-reason", "fleet test").CombinedOutput()
	if err != nil {
		t.Fatalf("arpbox snapshot: %v\n%s", err, out)
	}
	gwB := waitBundles(t, filepath.Join(dir, "gw", "snapshots"), 1, 30*time.Second)[0]
	srvB := waitBundles(t, filepath.Join(dir, "srv", "snapshots"), 1, 60*time.Second)[0]
	mg, ms := readManifest(t, gwB), readManifest(t, srvB)
	if mg.Trigger.Incident == "" || mg.Trigger.Incident != ms.Trigger.Incident {
		t.Fatalf("incident ids: gateway %q, server %q", mg.Trigger.Incident, ms.Trigger.Incident)
	}
	if mg.Host != "fleet-gw" || ms.Host != "fleet-srv" || ms.Trigger.Check != "peer" || ms.Trigger.Origin == nil || ms.Trigger.Origin.Host != "fleet-gw" {
		t.Errorf("gateway host %q; server host %q, trigger %+v", mg.Host, ms.Host, ms.Trigger)
	}
	wg, wsv := mg.Window.Requested, ms.Window.Requested
	if d := wsv.From.Sub(wg.From); d < -time.Second || d > time.Second || wsv.To.Sub(wsv.From) != wg.To.Sub(wg.From) {
		t.Errorf("windows: gateway %v – %v, server %v – %v: want the same window", wg.From, wg.To, wsv.From, wsv.To)
	}
	if len(mg.Peers) != 1 || mg.Peers[0].State != bundle.PeerOK || mg.Peers[0].Host != "fleet-srv" || mg.Peers[0].OffsetMS == nil {
		t.Fatalf("gateway's peers: %+v", mg.Peers)
	}
	// One kernel clock: the measured offset is within the round trip.
	if off, rtt := *mg.Peers[0].OffsetMS, *mg.Peers[0].RTTMS; off < -rtt-1 || off > rtt+1 {
		t.Errorf("measured offset %v ms with rtt %v ms", off, rtt)
	}
	for _, b := range []string{gwB, srvB} {
		if n := capinfosCount(t, filepath.Join(b, bundle.FileCapture)); n == 0 {
			t.Errorf("%s: empty capture", b)
		}
	}
	// The server's bundle came from a peer: it asked nobody back.
	time.Sleep(3 * time.Second)
	if n := len(bundles(t, filepath.Join(dir, "gw", "snapshots"))); n != 1 {
		t.Errorf("the gateway has %d bundles: the server's request fanned back", n)
	}
	if strings.Contains(dg.log(), "peer asked to freeze") || strings.Contains(ds.log(), "asking peers to freeze") {
		t.Error("a peer request was sent on")
	}

	// The multi-host report, from a directory holding both zips.
	inc := filepath.Join(dir, "incident")
	os.MkdirAll(inc, 0o755)
	for _, b := range []string{gwB, srvB} {
		data, err := os.ReadFile(b + ".zip")
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(inc, filepath.Base(b)+".zip"), data, 0o644)
	}
	rep, err := exec.Command(binPath, "report", inc).CombinedOutput()
	if err != nil {
		t.Fatalf("arpbox report: %v\n%s", err, rep)
	}
	for _, want := range []string{
		"INCIDENT " + mg.Trigger.Incident + ", declared on fleet-gw",
		"fleet-srv → fleet-gw: replies from 10.211.0.3 to 10.211.0.1 left fleet-srv and never arrived at fleet-gw",
	} {
		if !bytes.Contains(rep, []byte(want)) {
			t.Errorf("the report lacks %q", want)
		}
	}
	t.Logf("arpbox report %s:\n%s", inc, rep)

	// The server is down when the gateway fires again; it comes back
	// within its ring's reach and still freezes the incident.
	if err := ds.stop(); err != nil {
		t.Fatalf("server arpbox exit: %v", err)
	}
	out, err = exec.Command(binPath, "snapshot", "-config", gwCfg, "-reason", "server down").CombinedOutput()
	if err != nil {
		t.Fatalf("arpbox snapshot: %v\n%s", err, out)
	}
	gwB2 := waitBundles(t, filepath.Join(dir, "gw", "snapshots"), 2, 30*time.Second)[1]
	mg2 := readManifest(t, gwB2)
	if len(mg2.Peers) != 1 || mg2.Peers[0].State != bundle.PeerPending || !strings.Contains(mg2.Peers[0].Error, "connection refused") {
		t.Errorf("gateway's second bundle, server down: peers %+v, want pending after refused connections", mg2.Peers)
	}
	startNamed(t, srv, "fleet-srv", srvCfg)
	srvB2 := waitBundles(t, filepath.Join(dir, "srv", "snapshots"), 2, 90*time.Second)[1]
	ms2 := readManifest(t, srvB2)
	if ms2.Trigger.Incident != mg2.Trigger.Incident {
		t.Errorf("server's second bundle: incident %q, want %q", ms2.Trigger.Incident, mg2.Trigger.Incident)
	}
	if !dg.waitLog("peer froze the incident", 10*time.Second) {
		t.Error("the gateway did not log the server's late acceptance")
	}
	if n := capinfosCount(t, filepath.Join(srvB2, bundle.FileCapture)); n == 0 {
		t.Errorf("%s: the late bundle's capture is empty: the ring should still hold the window", srvB2)
	}
	// The gateway's counters, over its control socket.
	sock := filepath.Join(dir, "gw", "arpbox.sock")
	uc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	call := func(method, path, _ string, body io.Reader) (int, []byte) {
		req, _ := http.NewRequest(method, "http://arpbox"+path, body)
		resp, err := uc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	fams := scrape(t, call, "")
	if got := value(t, fams, "arpbox_peer_incidents_total", map[string]string{"peer": "server", "state": "ok"}); got != 2 {
		t.Errorf("arpbox_peer_incidents_total{peer=server,state=ok} = %v, want 2", got)
	}
	if got := value(t, fams, "arpbox_peer_request_failures_total", map[string]string{"peer": "server"}); got < 1 {
		t.Errorf("arpbox_peer_request_failures_total{peer=server} = %v, want the refused attempts counted", got)
	}
}

// arpingFrom sends n ARP requests from h, one every half second; no
// replies is fine.
func arpingFrom(h *nstest.Host, iface, ip string, n int) {
	_, _ = h.Run("arping", "-c", fmt.Sprint(n), "-W", "0.5", "-i", iface, ip)
}

// TestAlertmanagerWebhook posts Alertmanager webhook payloads (version 4)
// to arpbox's HTTP API: a matching firing alert freezes the ring once per
// episode at its startsAt; a repeat, a resolved or a non-matching alert
// does nothing; malformed, unauthenticated and oversized requests are
// refused.
func TestAlertmanagerWebhook(t *testing.T) {
	nstest.RequireRoot(t, "capinfos")
	gw, peer := nstest.NewHost(t, "fa"), nstest.NewHost(t, "fb")
	lg, _ := nstest.Veth(t, gw, "10.212.0.1/24", peer, "10.212.0.2/24")
	dir := t.TempDir()
	tok, tokFile := fleetToken(t, dir, "token")
	d := startDaemon(t, gw, writeConfig(t, fmt.Sprintf(`capture:
  interfaces: [%[2]s]
ring:
  dir: %[1]s/ring
  segment_duration: 2s
snapshots:
  dir: %[1]s/snapshots
  before: 30s
  after: 1s
  cooldown: 0s
control:
  socket: %[1]s/arpbox.sock
  listen: "10.212.0.1:9312"
  token_file: %[3]s
alertmanager:
  match:
    job: haproxy
    instance: "=~gw1:.*"
`, dir, lg.Name, tokFile)))
	if !d.waitLog("arpbox recording", 20*time.Second) {
		t.Fatal("arpbox did not start recording")
	}
	time.Sleep(4 * time.Second) // the ring holds startsAt below
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var c net.Conn
			err := peer.Do(func() error {
				var err error
				c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
				return err
			})
			return c, err
		},
	}}
	post := func(token string, body []byte) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, "http://10.212.0.1:9312/api/v1/alertmanager", bytes.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		b, _ := io.ReadAll(resp.Body)
		json.Unmarshal(b, &v)
		return resp.StatusCode, v
	}
	startsAt := time.Now().Add(-2 * time.Second).UTC().Truncate(time.Millisecond)
	payload := func(status, instance string) []byte {
		return []byte(fmt.Sprintf(`{
  "version": "4",
  "groupKey": "{}/{job=\"haproxy\"}:{alertname=\"HAProxyBackendDown\"}",
  "truncatedAlerts": 0,
  "status": %[1]q,
  "receiver": "arpbox",
  "groupLabels": {"alertname": "HAProxyBackendDown"},
  "commonLabels": {"alertname": "HAProxyBackendDown", "job": "haproxy", "instance": %[2]q},
  "commonAnnotations": {"summary": "HAProxy backend web has no server up"},
  "externalURL": "http://alertmanager:9093",
  "alerts": [{
    "status": %[1]q,
    "labels": {"alertname": "HAProxyBackendDown", "job": "haproxy", "instance": %[2]q, "backend": "web"},
    "annotations": {"summary": "HAProxy backend web has no server up\nsee runbook"},
    "startsAt": %[3]q,
    "endsAt": "0001-01-01T00:00:00Z",
    "generatorURL": "http://prometheus:9090/graph?g0.expr=haproxy_backend_active_servers%%3D%%3D0",
    "fingerprint": "c4b0d8a2f1e3b5a7"
  }]
}`, status, instance, startsAt.Format(time.RFC3339Nano)))
	}
	fired := func(v map[string]any) float64 { f, _ := v["fired"].(float64); return f }
	snaps := filepath.Join(dir, "snapshots")

	if code, _ := post("", payload("firing", "gw1:8404")); code != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", code)
	}
	if code, _ := post("wrong", payload("firing", "gw1:8404")); code != http.StatusUnauthorized {
		t.Errorf("wrong token: %d, want 401", code)
	}
	if code, v := post(tok, []byte(`{"version": "4", "alerts": [`)); code != http.StatusBadRequest {
		t.Errorf("malformed: %d %v, want 400", code, v)
	}
	if code, v := post(tok, []byte(`{"version":"4","alerts":[],"pad":"`+strings.Repeat("x", 2<<20)+`"}`)); code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized: %d %v, want 413", code, v)
	}
	if code, v := post(tok, payload("firing", "gw2:8404")); code != http.StatusOK || fired(v) != 0 {
		t.Errorf("non-matching: %d %v, want 200 and nothing fired", code, v)
	}
	if code, v := post(tok, payload("resolved", "gw1:8404")); code != http.StatusOK || fired(v) != 0 {
		t.Errorf("resolved: %d %v, want 200 and nothing fired", code, v)
	}
	if code, v := post(tok, payload("firing", "gw1:8404")); code != http.StatusOK || fired(v) != 1 {
		t.Fatalf("matching: %d %v, want 200 and one fired", code, v)
	}
	if code, v := post(tok, payload("firing", "gw1:8404")); code != http.StatusOK || fired(v) != 0 || v["repeated"].(float64) != 1 {
		t.Errorf("repeat: %d %v, want 200, nothing fired, one repeated", code, v)
	}
	b := waitBundles(t, snaps, 1, 30*time.Second)[0]
	time.Sleep(3 * time.Second) // a second bundle, if any, would be there by now
	if n := len(bundles(t, snaps)); n != 1 {
		t.Errorf("%d bundles, want 1 for one firing episode", n)
	}
	call := func(method, path, tok string, body io.Reader) (int, []byte) {
		req, _ := http.NewRequest(method, "http://10.212.0.1:9312"+path, body)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	fams := scrape(t, call, tok)
	for res, want := range map[string]float64{"fired": 1, "repeated": 1, "ignored": 2, "refused": 0} {
		if got := value(t, fams, "arpbox_alertmanager_alerts_total", map[string]string{"result": res}); got != want {
			t.Errorf("arpbox_alertmanager_alerts_total{result=%q} = %v, want %v", res, got, want)
		}
	}
	m := readManifest(t, b)
	if m.Trigger.Check != "alertmanager" || m.Trigger.Reason != "HAProxyBackendDown: HAProxy backend web has no server up see runbook" ||
		!m.Trigger.Time.Equal(startsAt) || m.Trigger.Target != "gw1:8404" || m.Trigger.Incident == "" {
		t.Errorf("trigger %+v, want the alert at startsAt %v", m.Trigger, startsAt)
	}
}
