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

// uploadSetup is a gateway namespace that records, and an S3 server
// (versitygw) on another namespace behind a veth.
type uploadSetup struct {
	gw, store *nstest.Host
	lg, ls    *nstest.Link
	srv       *uploadtest.Server
	dir       string // the daemon's data_dir
}

func newUploadSetup(t *testing.T, ctx context.Context, subnet string) *uploadSetup {
	t.Helper()
	nstest.RequireRoot(t, "arping", "capinfos")
	if uploadtest.Binary() == "" {
		t.Skip("versitygw is not installed (go install github.com/versity/versitygw/cmd/versitygw@v1.8.0; scripts/test.sh does)")
	}
	u := &uploadSetup{dir: t.TempDir()}
	u.gw, u.store = nstest.NewHost(t, "gw"), nstest.NewHost(t, "s3")
	u.lg, u.ls = nstest.Veth(t, u.gw, subnet+".1/24", u.store, subnet+".2/24")
	u.srv = uploadtest.StartWith(t, "arp-bundles", uploadtest.Options{
		Addr:    net.JoinHostPort(u.ls.Addr().String(), "7070"),
		Command: func(argv ...string) *exec.Cmd { return u.store.Command(ctx, argv...) },
		Dial: func(addr string) error {
			return u.store.Do(func() error {
				c, err := net.DialTimeout("tcp", addr, time.Second)
				if err == nil {
					c.Close()
				}
				return err
			})
		},
	})
	return u
}

// config writes the daemon's configuration, with extra lines in snapshots:.
func (u *uploadSetup) config(t *testing.T, snapshots string) string {
	creds := filepath.Join(u.dir, "s3.credentials")
	os.WriteFile(creds, []byte(fmt.Sprintf("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", uploadtest.AccessKey, uploadtest.SecretKey)), 0o600)
	return writeConfig(t, fmt.Sprintf(`data_dir: %[1]s
capture:
  interfaces: [%[2]s]
snapshots:
  before: 30s
  after: 1s
  cooldown: 1s
%[5]scontrol:
  socket: %[1]s/arpbox.sock
upload:
  endpoint: http://%[3]s
  bucket: arp-bundles
  prefix: fleet/dc1
  credentials_file: %[4]s
`, u.dir, u.lg.Name, u.srv.Addr, creds, snapshots))
}

// snapshot runs arpbox snapshot and returns the bundle's id and zip.
func (u *uploadSetup) snapshot(t *testing.T, ctx context.Context, cfg string) (id, zip string) {
	t.Helper()
	out, err := u.gw.Command(ctx, binPath, "snapshot", "-config", cfg, "-reason", "web1 DOWN").Output()
	if err != nil {
		t.Fatalf("arpbox snapshot: %v", err)
	}
	paths := strings.Fields(string(out))
	if len(paths) != 2 || !strings.HasSuffix(paths[1], ".zip") {
		t.Fatalf("arpbox snapshot printed %q", out)
	}
	return filepath.Base(paths[0]), paths[1]
}

// incident is the id the bundle at zip is filed under in the store (its
// incident id: every local trigger has one).
func incident(t *testing.T, zip string) string {
	t.Helper()
	return upload.Incident(readManifest(t, strings.TrimSuffix(zip, ".zip")))
}

// stored is the file versitygw's posix backend keeps the zip of incident in.
func (u *uploadSetup) stored(incident string) string {
	host, _ := os.Hostname()
	return filepath.Join(u.srv.Dir(), "arp-bundles", "fleet", "dc1", upload.HostDir(host), incident+".zip")
}

// waitUploads waits until the daemon has logged n uploads.
func waitUploads(t *testing.T, d *daemonProc, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for strings.Count(d.log(), "bundle uploaded") < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d bundle(s) not uploaded within %s", n, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestUploadToObjectStore: a daemon with an upload: section ships the
// bundle of `arpbox snapshot` to an S3 server on another host (versitygw
// in its own namespace); `arpbox bundles -remote` lists it and `arpbox
// report s3://…` explains it from the store.
func TestUploadToObjectStore(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	u := newUploadSetup(t, ctx, "10.213.1")
	gw, store := u.gw, u.store
	cfg := u.config(t, "")
	d := startDaemon(t, gw, cfg)
	if !d.waitLog("arpbox recording", 20*time.Second) {
		t.Fatal("arpbox did not start recording")
	}
	if !strings.Contains(d.log(), "TLS is off") {
		t.Error("no warning that upload runs without TLS")
	}
	// The store's host asks for an address nobody has.
	store.Run("arping", "-c", "4", "-W", "0.05", "-i", u.ls.Name, "10.213.1.77")

	id, zip := u.snapshot(t, ctx, cfg)
	inc := incident(t, zip)
	host, _ := os.Hostname()
	waitUploads(t, d, 1, 60*time.Second)
	local, _ := os.ReadFile(zip)
	remote, err := os.ReadFile(u.stored(inc))
	if err != nil || !bytes.Equal(local, remote) {
		t.Fatalf("the stored zip %s differs from %s (%d vs %d bytes, %v)", u.stored(inc), zip, len(remote), len(local), err)
	}
	if _, err := os.Stat(filepath.Join(u.dir, "upload-queue", "pending", id+".json")); err == nil {
		t.Error("the uploaded bundle is still in the queue")
	}

	// arpbox bundles -remote lists it, from the manifest object.
	out, err := gw.Command(ctx, binPath, "bundles", "-remote", "-config", cfg, "-json").Output()
	if err != nil {
		t.Fatalf("arpbox bundles -remote: %v", err)
	}
	var list []upload.Remote
	if err := json.Unmarshal(out, &list); err != nil {
		t.Fatalf("arpbox bundles -remote -json: %v: %s", err, out)
	}
	if len(list) != 1 || list[0].Incident != inc || list[0].Host != host || list[0].Trigger != "api" || list[0].Size != int64(len(local)) || list[0].Time.IsZero() {
		t.Errorf("arpbox bundles -remote = %+v, want %s from %s, trigger api, %d bytes", list, inc, host, len(local))
	}
	out, err = gw.Command(ctx, binPath, "bundles", "-remote", "-config", cfg).Output()
	if err != nil || !strings.Contains(string(out), inc) || !strings.Contains(string(out), "INCIDENT") {
		t.Errorf("arpbox bundles -remote: %v\n%s", err, out)
	}

	// arpbox report s3://… reads the bundle straight from the store.
	cmd := gw.Command(ctx, binPath, "report", "-config", cfg, "s3://arp-bundles/fleet/dc1/"+inc)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err = cmd.Output()
	if err != nil {
		t.Fatalf("arpbox report s3://: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(string(out), "10.213.1.77") || !strings.Contains(stderr.String(), "1 bundle(s) of incident "+inc) {
		t.Errorf("arpbox report s3:// did not explain the unanswered requests for 10.213.1.77:\n%s\nstderr: %s", out, stderr.String())
	}
	t.Logf("report from the store:\n%s", out)
}

// TestUploadHoldsBundlesUntilUploaded: while the store is down, retention
// (max_count: 1) keeps every bundle not yet uploaded; once the store is
// back they are uploaded, and the next bundle's retention removes them.
func TestUploadHoldsBundlesUntilUploaded(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	u := newUploadSetup(t, ctx, "10.213.2")
	u.srv.Stop() // the store is down
	cfg := u.config(t, "  max_count: 1\n")
	d := startDaemon(t, u.gw, cfg)
	if !d.waitLog("arpbox recording", 20*time.Second) {
		t.Fatal("arpbox did not start recording")
	}
	_, zip1 := u.snapshot(t, ctx, cfg)
	time.Sleep(1200 * time.Millisecond) // past the cooldown
	_, zip2 := u.snapshot(t, ctx, cfg)
	if !d.waitLog("upload failed; retrying", 30*time.Second) {
		t.Fatal("no failed upload logged while the store is down")
	}
	for _, z := range []string{zip1, zip2} {
		if _, err := os.Stat(z); err != nil {
			t.Fatalf("retention removed %s before its upload: %v", z, err)
		}
	}

	u.srv.Restart()
	waitUploads(t, d, 2, 90*time.Second)
	for _, zip := range []string{zip1, zip2} {
		if _, err := os.Stat(u.stored(incident(t, zip))); err != nil {
			t.Errorf("%s not in the store: %v", zip, err)
		}
	}
	time.Sleep(1200 * time.Millisecond)
	id3, _ := u.snapshot(t, ctx, cfg)
	waitUploads(t, d, 3, 60*time.Second)
	var left []string
	for _, b := range bundles(t, u.dir+"/snapshots") {
		left = append(left, filepath.Base(b))
	}
	if len(left) != 1 || left[0] != id3 {
		t.Errorf("bundles on disk after the uploads: %v, want only %s (max_count: 1)", left, id3)
	}
}
