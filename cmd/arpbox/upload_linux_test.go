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

	"github.com/arpbox/arpbox/internal/nstest"
	"github.com/arpbox/arpbox/upload"
	"github.com/arpbox/arpbox/upload/uploadtest"
)

// TestUploadToObjectStore: a daemon with an upload: section ships the
// bundle of `arpbox snapshot` to an S3 server on another host (versitygw
// in its own namespace); `arpbox bundles -remote` lists it and `arpbox
// report s3://…` explains it from the store.
func TestUploadToObjectStore(t *testing.T) {
	nstest.RequireRoot(t, "arping", "capinfos")
	if uploadtest.Binary() == "" {
		t.Skip("versitygw is not installed (go install github.com/versity/versitygw/cmd/versitygw@v1.8.0; scripts/test.sh does)")
	}
	gw, store := nstest.NewHost(t, "gw"), nstest.NewHost(t, "s3")
	lg, ls := nstest.Veth(t, gw, "10.213.1.1/24", store, "10.213.1.2/24")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	srv := uploadtest.StartWith(t, "arp-bundles", uploadtest.Options{
		Addr:    net.JoinHostPort(ls.Addr().String(), "7070"),
		Command: func(argv ...string) *exec.Cmd { return store.Command(ctx, argv...) },
		Dial: func(addr string) error {
			return store.Do(func() error {
				c, err := net.DialTimeout("tcp", addr, time.Second)
				if err == nil {
					c.Close()
				}
				return err
			})
		},
	})

	dir := t.TempDir()
	creds := filepath.Join(dir, "s3.credentials")
	os.WriteFile(creds, []byte(fmt.Sprintf("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", uploadtest.AccessKey, uploadtest.SecretKey)), 0o600)
	cfg := writeConfig(t, fmt.Sprintf(`data_dir: %[1]s
capture:
  interfaces: [%[2]s]
snapshots:
  before: 30s
  after: 1s
  cooldown: 1s
control:
  socket: %[1]s/arpbox.sock
upload:
  endpoint: http://%[3]s
  bucket: arp-bundles
  prefix: fleet/dc1
  credentials_file: %[4]s
`, dir, lg.Name, srv.Addr, creds))
	d := startDaemon(t, gw, cfg)
	if !d.waitLog("arpbox recording", 20*time.Second) {
		t.Fatal("arpbox did not start recording")
	}
	if !strings.Contains(d.log(), "TLS is off") {
		t.Error("no warning that upload runs without TLS")
	}
	// The store's host asks for an address nobody has.
	store.Run("arping", "-c", "4", "-W", "0.05", "-i", ls.Name, "10.213.1.77")

	out, err := gw.Command(ctx, binPath, "snapshot", "-config", cfg, "-reason", "web1 DOWN").Output()
	if err != nil {
		t.Fatalf("arpbox snapshot: %v", err)
	}
	paths := strings.Fields(string(out))
	if len(paths) != 2 || !strings.HasSuffix(paths[1], ".zip") {
		t.Fatalf("arpbox snapshot printed %q", out)
	}
	id := filepath.Base(paths[0])
	host, _ := os.Hostname()
	// versitygw's posix backend keeps each object as a file.
	stored := filepath.Join(srv.Dir(), "arp-bundles", "fleet", "dc1", upload.HostDir(host), id+".zip")
	deadline := time.Now().Add(60 * time.Second)
	for !d.waitLog("bundle uploaded", 100*time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("bundle %s not uploaded within 60s", id)
		}
	}
	local, _ := os.ReadFile(paths[1])
	remote, err := os.ReadFile(stored)
	if err != nil || !bytes.Equal(local, remote) {
		t.Fatalf("the stored zip %s differs from %s (%d vs %d bytes, %v)", stored, paths[1], len(remote), len(local), err)
	}
	if _, err := os.Stat(filepath.Join(dir, "upload-queue", "pending", id+".json")); err == nil {
		t.Error("the uploaded bundle is still in the queue")
	}

	// arpbox bundles -remote lists it, from the manifest object.
	out, err = gw.Command(ctx, binPath, "bundles", "-remote", "-config", cfg, "-json").Output()
	if err != nil {
		t.Fatalf("arpbox bundles -remote: %v", err)
	}
	var list []upload.Remote
	if err := json.Unmarshal(out, &list); err != nil {
		t.Fatalf("arpbox bundles -remote -json: %v: %s", err, out)
	}
	if len(list) != 1 || list[0].Incident != id || list[0].Host != host || list[0].Trigger != "api" || list[0].Size != int64(len(local)) || list[0].Time.IsZero() {
		t.Errorf("arpbox bundles -remote = %+v, want %s from %s, trigger api, %d bytes", list, id, host, len(local))
	}
	out, err = gw.Command(ctx, binPath, "bundles", "-remote", "-config", cfg).Output()
	if err != nil || !strings.Contains(string(out), id) || !strings.Contains(string(out), "INCIDENT") {
		t.Errorf("arpbox bundles -remote: %v\n%s", err, out)
	}

	// arpbox report s3://… reads the bundle straight from the store.
	cmd := gw.Command(ctx, binPath, "report", "-config", cfg, "s3://arp-bundles/fleet/dc1/"+id)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err = cmd.Output()
	if err != nil {
		t.Fatalf("arpbox report s3://: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(string(out), "10.213.1.77") || !strings.Contains(stderr.String(), "1 bundle(s) of incident "+id) {
		t.Errorf("arpbox report s3:// did not explain the unanswered requests for 10.213.1.77:\n%s\nstderr: %s", out, stderr.String())
	}
	t.Logf("report from the store:\n%s", out)
}
