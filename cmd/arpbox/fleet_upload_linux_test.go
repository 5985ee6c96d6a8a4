package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arpbox/arpbox/bundle"
	"github.com/arpbox/arpbox/internal/nstest"
	"github.com/arpbox/arpbox/upload"
	"github.com/arpbox/arpbox/upload/uploadtest"
)

// TestFleetUpload is the whole fleet path of the README's worked example:
// gateway — switch (a Linux bridge, which also hosts the object store,
// versitygw) — server. Both arpboxes are each other's peers and upload to
// the one store. The switch drops the server's ARP replies for one of its
// addresses. One `arpbox snapshot` on the gateway yields a bundle on both
// hosts, both are uploaded under the shared incident id, `arpbox bundles
// -remote` lists the two hosts for it, and `arpbox report
// s3://bucket/prefix/<incident-id>` reads both from the store and names
// both hosts and the failing direction.
func TestFleetUpload(t *testing.T) {
	nstest.RequireRoot(t, "nft", "arping", "capinfos", "unshare")
	if uploadtest.Binary() == "" {
		t.Skip("versitygw is not installed (go install github.com/versity/versitygw/cmd/versitygw@v1.8.0; scripts/test.sh does)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	gw, sw, srv := nstest.NewHost(t, "ug"), nstest.NewHost(t, "us"), nstest.NewHost(t, "uv")
	gwL, swA := nstest.Veth(t, gw, "10.214.0.1/24", sw, "")
	swB, srvL := nstest.Veth(t, sw, "", srv, "10.214.0.2/24")
	srv.MustRun("ip", "addr", "add", "10.214.0.3/24", "dev", srvL.Name)
	sw.MustRun("ip", "link", "add", "br0", "type", "bridge")
	sw.MustRun("ip", "link", "set", swA.Name, "master", "br0")
	sw.MustRun("ip", "link", "set", swB.Name, "master", "br0")
	sw.MustRun("ip", "addr", "add", "10.214.0.4/24", "dev", "br0")
	sw.MustRun("ip", "link", "set", "br0", "up")

	store := uploadtest.StartWith(t, "arp-bundles", uploadtest.Options{
		Addr:    "10.214.0.4:7070",
		Command: func(argv ...string) *exec.Cmd { return sw.Command(ctx, argv...) },
		Dial: func(addr string) error {
			return sw.Do(func() error {
				c, err := net.DialTimeout("tcp", addr, time.Second)
				if err == nil {
					c.Close()
				}
				return err
			})
		},
	})

	dir := t.TempDir()
	_, gwTok := fleetToken(t, dir, "gw.token")
	_, srvTok := fleetToken(t, dir, "srv.token")
	creds := filepath.Join(dir, "s3.credentials")
	os.WriteFile(creds, []byte(fmt.Sprintf("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", uploadtest.AccessKey, uploadtest.SecretKey)), 0o600)
	conf := func(name, iface, listen, tok, peerName, peerURL, peerTok string) string {
		return writeConfig(t, fmt.Sprintf(`data_dir: %[1]s/%[3]s
capture:
  interfaces: [%[2]s]
ring:
  segment_duration: 2s
snapshots:
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
upload:
  endpoint: http://%[9]s
  bucket: arp-bundles
  prefix: fleet/dc1
  credentials_file: %[10]s
`, dir, iface, name, listen, tok, peerName, peerURL, peerTok, store.Addr, creds))
	}
	gwCfg := conf("gw", gwL.Name, "10.214.0.1:9311", gwTok, "server", "http://10.214.0.2:9311", srvTok)
	srvCfg := conf("srv", srvL.Name, "10.214.0.2:9311", srvTok, "gateway", "http://10.214.0.1:9311", gwTok)
	dg := startNamed(t, gw, "fleet-gw", gwCfg)
	ds := startNamed(t, srv, "fleet-srv", srvCfg)

	// Healthy exchanges first, then the switch drops the server's replies
	// for 10.214.0.3 (.2, its API address, still answers).
	arpingFrom(gw, gwL.Name, "10.214.0.3", 3)
	sw.MustRun("nft", "add", "table", "bridge", "fu")
	sw.MustRun("nft", "add", "chain", "bridge", "fu", "abxfwd", "{ type filter hook forward priority 0; }")
	sw.MustRun("nft", "add", "rule", "bridge", "fu", "abxfwd", "arp", "operation", "reply", "arp", "saddr", "ip", "10.214.0.3", "drop")
	arpingFrom(gw, gwL.Name, "10.214.0.3", 6)

	out, err := gw.Command(ctx, binPath, "snapshot", "-config", gwCfg, "-reason", "web1 DOWN").CombinedOutput()
	if err != nil {
		t.Fatalf("arpbox snapshot: %v\n%s", err, out)
	}
	t.Logf("$ arpbox snapshot -config gateway.yaml -reason 'web1 DOWN'\n%s", out)
	gwB := waitBundles(t, filepath.Join(dir, "gw", "snapshots"), 1, 30*time.Second)[0]
	srvB := waitBundles(t, filepath.Join(dir, "srv", "snapshots"), 1, 60*time.Second)[0]
	mg, ms := readManifest(t, gwB), readManifest(t, srvB)
	inc := mg.Trigger.Incident
	if inc == "" || ms.Trigger.Incident != inc {
		t.Fatalf("incident ids: gateway %q, server %q", inc, ms.Trigger.Incident)
	}
	waitUploads(t, dg, 1, 60*time.Second)
	waitUploads(t, ds, 1, 60*time.Second)

	// Both zips are in the store under the incident id, byte for byte.
	for _, b := range []struct{ host, dir string }{{"fleet-gw", gwB}, {"fleet-srv", srvB}} {
		local, err := os.ReadFile(b.dir + bundle.ZipExt)
		if err != nil {
			t.Fatal(err)
		}
		key := filepath.Join(store.Dir(), "arp-bundles", "fleet", "dc1", b.host, inc+upload.ZipExt)
		if remote, err := os.ReadFile(key); err != nil || !bytes.Equal(local, remote) {
			t.Errorf("%s: the stored zip %s differs from %s (%d vs %d bytes, %v)", b.host, key, b.dir+bundle.ZipExt, len(remote), len(local), err)
		}
	}

	// arpbox status on the gateway: the queue is empty, the server froze
	// the last incident.
	out, err = exec.Command(binPath, "status", "-config", gwCfg).Output()
	if err != nil {
		t.Fatalf("arpbox status: %v", err)
	}
	var st struct {
		Upload *upload.QueueState `json:"upload"`
		Peers  *struct {
			Incident string                `json:"last_incident"`
			States   []bundle.ManifestPeer `json:"states"`
		} `json:"peers"`
	}
	if err := json.Unmarshal(out, &st); err != nil {
		t.Fatalf("arpbox status: %v: %s", err, out)
	}
	if st.Upload == nil || st.Upload.Pending != 0 || st.Upload.LastError != "" || st.Upload.Store != "s3://arp-bundles/fleet/dc1" {
		t.Errorf("arpbox status: upload %+v, want an empty queue without error", st.Upload)
	}
	if st.Peers == nil || st.Peers.Incident != inc || len(st.Peers.States) != 1 || st.Peers.States[0].State != bundle.PeerOK || st.Peers.States[0].Host != "fleet-srv" {
		t.Errorf("arpbox status: peers %+v, want %s ok on fleet-srv", st.Peers, inc)
	}

	// arpbox bundles -remote: two hosts for the incident.
	out, err = gw.Command(ctx, binPath, "bundles", "-remote", "-config", gwCfg, "-json").Output()
	if err != nil {
		t.Fatalf("arpbox bundles -remote -json: %v", err)
	}
	var list []upload.Remote
	if err := json.Unmarshal(out, &list); err != nil {
		t.Fatalf("arpbox bundles -remote -json: %v: %s", err, out)
	}
	hosts := map[string]string{}
	for _, r := range list {
		if r.Incident == inc {
			hosts[r.Host] = r.Trigger
		}
	}
	if len(list) != 2 || hosts["fleet-gw"] != "api" || hosts["fleet-srv"] != "peer-api" {
		t.Errorf("arpbox bundles -remote = %+v, want fleet-gw (api) and fleet-srv (peer-api) under %s", list, inc)
	}
	out, err = gw.Command(ctx, binPath, "bundles", "-remote", "-config", gwCfg).Output()
	if err != nil {
		t.Fatalf("arpbox bundles -remote: %v", err)
	}
	t.Logf("$ arpbox bundles -remote -config gateway.yaml\n%s", out)

	// arpbox report s3://… from the server's side: both hosts, one
	// incident, the failing direction.
	url := "s3://arp-bundles/fleet/dc1/" + inc
	html := filepath.Join(dir, "incident.html")
	cmd := srv.Command(ctx, binPath, "report", "-config", srvCfg, "-html", html, url)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	rep, err := cmd.Output()
	if err != nil {
		t.Fatalf("arpbox report %s: %v\n%s", url, err, stderr.String())
	}
	t.Logf("$ arpbox report -config server.yaml %s\n%s%s", url, stderr.String(), rep)
	if !strings.Contains(stderr.String(), "2 bundle(s) of incident "+inc) {
		t.Errorf("arpbox report: stderr %q, want 2 bundles of %s", stderr.String(), inc)
	}
	dirn := "fleet-srv → fleet-gw: replies from 10.214.0.3 to 10.214.0.1 left fleet-srv and never arrived at fleet-gw"
	for _, want := range []string{
		"INCIDENT " + inc + ", declared on fleet-gw",
		"  fleet-gw: bundle " + mg.ID,
		"  fleet-srv: bundle " + ms.ID,
		dirn,
	} {
		if !bytes.Contains(rep, []byte(want)) {
			t.Errorf("the report lacks %q", want)
		}
	}
	page, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Incident " + inc, "fleet-srv → fleet-gw: replies from 10.214.0.3 to 10.214.0.1 left fleet-srv and never arrived at fleet-gw"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("the HTML report lacks %q", want)
		}
	}
	// The JSON report carries the incident with the local paths of the
	// downloads (gone now: report removes its temporary directory).
	out, err = srv.Command(ctx, binPath, "report", "-config", srvCfg, "-json", url).Output()
	if err != nil {
		t.Fatalf("arpbox report -json %s: %v", url, err)
	}
	var js struct {
		Incident struct {
			ID    string `json:"id"`
			Hosts []struct {
				Host string `json:"host"`
				Path string `json:"path"`
			} `json:"hosts"`
			Directions []struct{ From, To, What string } `json:"directions"`
		} `json:"incident"`
	}
	if err := json.Unmarshal(out, &js); err != nil {
		t.Fatalf("arpbox report -json: %v", err)
	}
	if js.Incident.ID != inc || len(js.Incident.Hosts) != 2 || len(js.Incident.Directions) == 0 ||
		js.Incident.Directions[0].From != "fleet-srv" || js.Incident.Directions[0].To != "fleet-gw" || js.Incident.Directions[0].What != "replies" {
		t.Errorf("JSON incident %+v", js.Incident)
	}
	for _, h := range js.Incident.Hosts {
		if _, err := os.Stat(h.Path); err == nil {
			t.Errorf("%s: the downloaded bundle %s is left behind", h.Host, h.Path)
		}
	}

	// Only the gateway's bundle in the store (the server's not uploaded
	// yet): still the incident, the server named as not among the inputs.
	if err := os.RemoveAll(filepath.Join(store.Dir(), "arp-bundles", "fleet", "dc1", "fleet-srv")); err != nil {
		t.Fatal(err)
	}
	out, err = gw.Command(ctx, binPath, "report", "-config", gwCfg, url).Output()
	if err != nil {
		t.Fatalf("arpbox report %s with one bundle: %v", url, err)
	}
	for _, want := range []string{
		"INCIDENT " + inc + ", declared on fleet-gw",
		"server (fleet-srv): froze the incident, but its bundle is not among the inputs",
	} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("the report of the gateway's bundle alone lacks %q:\n%s", want, out)
		}
	}
}
