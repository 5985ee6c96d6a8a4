package upload_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/arpbox/arpbox/upload"
	"github.com/arpbox/arpbox/upload/uploadtest"
)

// run starts u.Run and returns a function that stops it and checks that
// it returned nil.
func run(t *testing.T, u *upload.Uploader) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- u.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("Run did not return within 30s of cancel")
		}
	}
	t.Cleanup(stop)
	return stop
}

// waitFor polls cond every 50ms for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// objects lists every object in the bucket.
func objects(t *testing.T, srv *uploadtest.Server, bucket string) map[string]minio.ObjectInfo {
	t.Helper()
	out := map[string]minio.ObjectInfo{}
	for o := range srv.Client().ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		out[o.Key] = o
	}
	return out
}

// storedSHA256 is the SHA-256 the server reports for key ("" if absent).
func storedSHA256(t *testing.T, srv *uploadtest.Server, bucket, key string) string {
	st, err := srv.Client().StatObject(context.Background(), bucket, key, minio.StatObjectOptions{Checksum: true})
	if err != nil {
		return ""
	}
	return st.ChecksumSHA256
}

func fileSHA256(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(s[:])
}

func newMetrics(t *testing.T) *upload.Metrics {
	m, err := upload.NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// The server is killed in the middle of an upload and comes back: the
// uploader retries with backoff and the bundle arrives once, intact.
func TestUploadSurvivesServerKilledMidUpload(t *testing.T) {
	srv := uploadtest.Start(t, "bundles")
	snaps := t.TempDir()
	zip := writeZip(t, snaps, "20261130T080000Z-gw-arp", "gw", 8<<20)
	reached, killed := make(chan struct{}), make(chan struct{})
	proxy := uploadtest.NewProxy(t, srv.Addr, 4<<20, func() { close(reached); <-killed })
	cfg := srv.Config("bundles", "fleet", t.TempDir())
	cfg.Endpoint = proxy.Addr
	store, err := upload.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := newMetrics(t)
	u := upload.New(store, cfg.QueueDir, upload.Options{Metrics: m, MinBackoff: 200 * time.Millisecond, MaxBackoff: time.Second})
	run(t, u)
	if err := u.Enqueue("20261130T080000Z-gw-arp", zip); err != nil {
		t.Fatal(err)
	}
	select {
	case <-reached:
	case <-time.After(60 * time.Second):
		t.Fatal("the upload did not reach 4 MiB within 60s")
	}
	srv.Stop() // SIGKILL with half the zip sent
	close(killed)
	time.Sleep(time.Second) // the uploader fails and backs off meanwhile
	if !u.Pending("20261130T080000Z-gw-arp") {
		t.Error("the bundle left the queue while the server was down")
	}
	srv.Restart()
	waitFor(t, 60*time.Second, "bundle uploaded after the server came back", func() bool { return !u.Pending("20261130T080000Z-gw-arp") })
	// Counted just after the done record that ends Pending.
	waitFor(t, 5*time.Second, "the upload counted", func() bool { return testutil.ToFloat64(m.Uploads()) >= 1 })

	objs := objects(t, srv, "bundles")
	if len(objs) != 2 {
		t.Errorf("objects in the bucket: %v, want the zip and its manifest", objs)
	}
	key := "fleet/gw/20261130T080000Z-gw-arp.zip"
	if got, want := storedSHA256(t, srv, "bundles", key), fileSHA256(t, zip); got != want {
		t.Errorf("stored SHA-256 %q, want %q", got, want)
	}
	if n := testutil.ToFloat64(m.Uploads()); n != 1 {
		t.Errorf("%s = %v, want 1", upload.MetricUploads, n)
	}
	if n := testutil.ToFloat64(m.Failures()); n < 1 {
		t.Errorf("%s = %v, want at least 1", upload.MetricFailures, n)
	}
	fi, _ := os.Stat(zip)
	if n := testutil.ToFloat64(m.Bytes()); n < float64(fi.Size()) {
		t.Errorf("%s = %v, want at least the zip's %d bytes", upload.MetricBytes, n, fi.Size())
	}
	t.Logf("proxy forwarded %d bytes for an %d-byte zip", proxy.Sent.Load(), fi.Size())
}

// An uploader stopped with bundles in its queue (the server unreachable)
// uploads them when it runs again; in the meantime they are pending (held
// from retention).
func TestUploaderResumesQueueAfterRestart(t *testing.T) {
	srv := uploadtest.Start(t, "bundles")
	snaps, queueDir := t.TempDir(), t.TempDir()
	cfg := srv.Config("bundles", "", queueDir)
	store, err := upload.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{"20261130T080000Z-a", "20261130T080100Z-b"}
	var zips []string
	for _, id := range ids {
		zips = append(zips, writeZip(t, snaps, id, "gw", 200<<10))
	}
	// A third bundle is published, but a crash kept it out of the queue.
	orphan := writeZip(t, snaps, "20261130T080200Z-c", "gw", 1000)

	srv.Stop() // the network is down
	m1 := newMetrics(t)
	u1 := upload.New(store, queueDir, upload.Options{Metrics: m1, MinBackoff: 100 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	stop1 := run(t, u1)
	for i, id := range ids {
		if err := u1.Enqueue(id, zips[i]); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 30*time.Second, "failed attempts counted", func() bool { return testutil.ToFloat64(m1.Failures()) >= 2 })
	stop1()
	for _, id := range ids {
		if !u1.Pending(id) {
			t.Errorf("%s not pending after failed attempts", id)
		}
	}
	if got := testutil.ToFloat64(m1.Queued()); got != 2 {
		t.Errorf("%s = %v, want 2", upload.MetricQueued, got)
	}

	srv.Restart()
	m2 := newMetrics(t)
	u2 := upload.New(store, queueDir, upload.Options{Metrics: m2, SnapshotsDir: snaps, MinBackoff: 100 * time.Millisecond})
	run(t, u2)
	waitFor(t, 60*time.Second, "queue drained", func() bool { return testutil.ToFloat64(m2.Uploads()) == 3 })
	for i, id := range append(ids, "20261130T080200Z-c") {
		p := orphan
		if i < len(zips) {
			p = zips[i]
		}
		if u2.Pending(id) {
			t.Errorf("%s still pending", id)
		}
		key := "gw/" + id + ".zip"
		if got, want := storedSHA256(t, srv, "bundles", key), fileSHA256(t, p); got != want {
			t.Errorf("%s: stored SHA-256 %q, want %q", key, got, want)
		}
	}
	waitFor(t, 5*time.Second, "queued gauge at 0", func() bool { return testutil.ToFloat64(m2.Queued()) == 0 })
	if ents, _ := os.ReadDir(filepath.Join(queueDir, "pending")); len(ents) != 0 {
		t.Errorf("pending entries left: %v", ents)
	}
}

// A queued bundle removed from disk before its upload (retention forced by
// max_size) is counted as dropped and leaves the queue.
func TestUploaderCountsDroppedBundle(t *testing.T) {
	srv := uploadtest.Start(t, "bundles")
	snaps, queueDir := t.TempDir(), t.TempDir()
	store, err := upload.Open(srv.Config("bundles", "", queueDir))
	if err != nil {
		t.Fatal(err)
	}
	zip := writeZip(t, snaps, "20261130T080000Z-a", "gw", 1000)
	m := newMetrics(t)
	u := upload.New(store, queueDir, upload.Options{Metrics: m})
	if err := u.Enqueue("20261130T080000Z-a", zip); err != nil {
		t.Fatal(err)
	}
	os.Remove(zip)
	run(t, u)
	waitFor(t, 30*time.Second, "dropped counted", func() bool { return testutil.ToFloat64(m.Dropped()) == 1 })
	if u.Pending("20261130T080000Z-a") {
		t.Error("a bundle gone from disk is still pending")
	}
	if n := testutil.ToFloat64(m.Uploads()); n != 0 {
		t.Errorf("%s = %v, want 0", upload.MetricUploads, n)
	}
}

// A bucket that does not exist yet is retried, not given up: once an
// operator creates it, the queue drains.
func TestUploaderWaitsForBucket(t *testing.T) {
	srv := uploadtest.Start(t, "")
	snaps, queueDir := t.TempDir(), t.TempDir()
	store, err := upload.Open(srv.Config("late-bucket", "", queueDir))
	if err != nil {
		t.Fatal(err)
	}
	m := newMetrics(t)
	u := upload.New(store, queueDir, upload.Options{Metrics: m, MinBackoff: 100 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	run(t, u)
	if err := u.Enqueue("20261130T080000Z-a", writeZip(t, snaps, "20261130T080000Z-a", "gw", 1000)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "failures counted", func() bool { return testutil.ToFloat64(m.Failures()) >= 2 })
	if !u.Pending("20261130T080000Z-a") {
		t.Fatal("the bundle left the queue while its bucket is missing")
	}
	if err := srv.Client().MakeBucket(context.Background(), "late-bucket", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "uploaded once the bucket exists", func() bool { return !u.Pending("20261130T080000Z-a") })
	// Counted just after the done record that ends Pending.
	waitFor(t, 5*time.Second, "the upload counted", func() bool { return testutil.ToFloat64(m.Uploads()) >= 1 })
	if n := testutil.ToFloat64(m.Uploads()); n != 1 {
		t.Errorf("%s = %v, want 1", upload.MetricUploads, n)
	}
}

// A file that is not a bundle zip cannot be uploaded by retrying: it
// leaves the queue with a failure counted, and the next bundle goes.
func TestUploaderDropsUnreadableZip(t *testing.T) {
	srv := uploadtest.Start(t, "bundles")
	snaps, queueDir := t.TempDir(), t.TempDir()
	store, err := upload.Open(srv.Config("bundles", "", queueDir))
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(snaps, "20261130T080000Z-a.zip")
	os.WriteFile(bad, []byte("not a zip"), 0o640)
	good := writeZip(t, snaps, "20261130T080100Z-b", "gw", 1000)
	m := newMetrics(t)
	u := upload.New(store, queueDir, upload.Options{Metrics: m})
	u.Enqueue("20261130T080000Z-a", bad)
	u.Enqueue("20261130T080100Z-b", good)
	run(t, u)
	waitFor(t, 30*time.Second, "the good bundle uploaded", func() bool { return testutil.ToFloat64(m.Uploads()) == 1 })
	if u.Pending("20261130T080000Z-a") || testutil.ToFloat64(m.Failures()) != 1 {
		t.Errorf("unreadable zip: pending %v, failures %v; want dropped with 1 failure", u.Pending("20261130T080000Z-a"), testutil.ToFloat64(m.Failures()))
	}
	if _, ok := objects(t, srv, "bundles")["gw/20261130T080100Z-b.zip"]; !ok {
		t.Error("the good bundle is not in the store")
	}
}

// What a crash leaves in the queue directory is handled at start: the
// hidden file of an interrupted write is removed, a malformed entry is
// dropped (counted), a done record whose bundle is gone from disk is
// pruned, and the intact entry is uploaded.
func TestUploaderStartsFromCrashedQueue(t *testing.T) {
	srv := uploadtest.Start(t, "bundles")
	snaps, queueDir := t.TempDir(), t.TempDir()
	store, err := upload.Open(srv.Config("bundles", "", queueDir))
	if err != nil {
		t.Fatal(err)
	}
	zip := writeZip(t, snaps, "20261130T080000Z-a", "gw", 1000)
	pending, done := filepath.Join(queueDir, "pending"), filepath.Join(queueDir, "done")
	os.MkdirAll(pending, 0o750)
	os.MkdirAll(done, 0o750)
	files := map[string]string{
		filepath.Join(pending, "20261130T080000Z-a.json"):      `{"id":"20261130T080000Z-a","zip":"` + zip + `","queued":"2026-11-30T08:00:05Z"}`,
		filepath.Join(pending, ".tmp-20261130T080100Z-b.json"): `{"id":"20261130T08`,
		filepath.Join(pending, "20261130T080200Z-c.json"):      `{"id":"something else","zip":""}`,
		filepath.Join(done, "20261129T080000Z-old.json"):       `{"id":"20261129T080000Z-old"}`,
	}
	for p, b := range files {
		if err := os.WriteFile(p, []byte(b), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	m := newMetrics(t)
	u := upload.New(store, queueDir, upload.Options{Metrics: m, SnapshotsDir: snaps})
	run(t, u)
	waitFor(t, 30*time.Second, "the intact entry uploaded", func() bool { return testutil.ToFloat64(m.Uploads()) == 1 })
	waitFor(t, 5*time.Second, "the queue emptied", func() bool {
		ents, _ := os.ReadDir(pending)
		return len(ents) == 0
	})
	if n := testutil.ToFloat64(m.Failures()); n != 1 {
		t.Errorf("%s = %v, want 1 (the malformed entry)", upload.MetricFailures, n)
	}
	ents, _ := os.ReadDir(done)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if len(names) != 1 || names[0] != "20261130T080000Z-a.json" {
		t.Errorf("done records %v, want only the uploaded bundle's", names)
	}
}

func TestParseURL(t *testing.T) {
	for _, tc := range []struct{ in, bucket, prefix, incident, err string }{
		{"s3://bundles/fleet/dc1/20261130T080000Z-gw", "bundles", "fleet/dc1", "20261130T080000Z-gw", ""},
		{"s3://bundles/20261130T080000Z-gw/", "bundles", "", "20261130T080000Z-gw", ""},
		{"s3://bundles/x/20261130T080000Z-gw.zip", "bundles", "x", "20261130T080000Z-gw", ""},
		{"s3://bundles", "", "", "", "want s3://"},
		{"s3://Bad_Bucket/x/1", "", "", "", "bucket"},
		{"http://bundles/x", "", "", "", "want s3://"},
		{"s3://bundles/a//b/20261130T080000Z-gw", "", "", "", "prefix"},
		{"s3://bundles/../20261130T080000Z-gw", "", "", "", "prefix"},
	} {
		b, p, i, err := upload.ParseURL(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseURL(%q) error %v, want one with %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || b != tc.bucket || p != tc.prefix || i != tc.incident {
			t.Errorf("ParseURL(%q) = %q %q %q %v, want %q %q %q", tc.in, b, p, i, err, tc.bucket, tc.prefix, tc.incident)
		}
	}
}
