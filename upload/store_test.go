package upload_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"github.com/arpbox/arpbox/bundle"
	"io"
	"os"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/arpbox/arpbox/upload"
	"github.com/arpbox/arpbox/upload/uploadtest"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// The server checks the SHA-256 a PUT declares: a body that does not
// match is refused and nothing is stored. This is what Put relies on.
func TestServerChecksSHA256(t *testing.T) {
	srv := uploadtest.Start(t, "bundles")
	ctx := testCtx(t)
	body := []byte("the bytes that were sent")
	wrong := sha256.Sum256([]byte("other bytes"))
	_, err := srv.Client().PutObject(ctx, "bundles", "x/bad.zip", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{
		UserMetadata:     map[string]string{"x-amz-checksum-sha256": base64.StdEncoding.EncodeToString(wrong[:])},
		DisableMultipart: true,
	})
	if err == nil {
		t.Fatal("a PUT with a wrong x-amz-checksum-sha256 was accepted")
	}
	t.Logf("refused as expected: %v (code %s)", err, minio.ToErrorResponse(err).Code)
	if _, err := srv.Client().StatObject(ctx, "bundles", "x/bad.zip", minio.StatObjectOptions{}); err == nil {
		t.Fatal("the refused object is stored")
	}
}

func TestPutListFetch(t *testing.T) {
	srv := uploadtest.Start(t, "bundles")
	ctx := testCtx(t)
	store, err := upload.Open(srv.Config("bundles", "/fleet/dc1/", t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	zipA := writeZip(t, dir, "20261130T080000Z-gw-arp", "gw", 3<<20)
	zipB := writeZip(t, t.TempDir(), "20261130T080000Z-gw-arp", "web1", 100<<10)
	want, _ := os.ReadFile(zipA)
	sum := sha256.Sum256(want)

	got, err := store.Put(ctx, zipA)
	if err != nil {
		t.Fatal(err)
	}
	if got.Key != "fleet/dc1/gw/20261130T080000Z-gw-arp.zip" || got.SHA256 != hex.EncodeToString(sum[:]) || got.Size != int64(len(want)) || got.Bytes <= got.Size {
		t.Errorf("Put = %+v", got)
	}
	// The server reports the SHA-256 it checked, and the metadata.
	st, err := srv.Client().StatObject(ctx, "bundles", got.Key, minio.StatObjectOptions{Checksum: true})
	if err != nil {
		t.Fatal(err)
	}
	if st.ChecksumSHA256 != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Errorf("stored checksum %q, want %q", st.ChecksumSHA256, base64.StdEncoding.EncodeToString(sum[:]))
	}
	for k, v := range map[string]string{"Arpbox-Host": "gw", "Arpbox-Trigger": "gw-arp", "Arpbox-Incident": "20261130T080000Z-gw-arp",
		"Arpbox-Window-From": "2026-11-30T07:59:00Z", "Arpbox-Window-To": "2026-11-30T08:00:10Z"} {
		if st.UserMetadata[k] != v {
			t.Errorf("metadata %s = %q, want %q (all: %v)", k, st.UserMetadata[k], v, st.UserMetadata)
		}
	}
	// Again: already there, nothing sent.
	again, err := store.Put(ctx, zipA)
	if err != nil || again.Bytes != 0 {
		t.Errorf("second Put = %+v, %v; want nothing sent", again, err)
	}
	if _, err := store.Put(ctx, zipB); err != nil {
		t.Fatal(err)
	}

	list, err := store.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("List = %+v, want 2 bundles", list)
	}
	for _, r := range list {
		if r.Incident != "20261130T080000Z-gw-arp" || r.Trigger != "gw-arp" || r.Size == 0 || r.Err != "" || !r.Time.Equal(time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)) {
			t.Errorf("listed %+v", r)
		}
	}
	if list[0].Host != "gw" || list[1].Host != "web1" {
		t.Errorf("hosts %q %q, want gw web1", list[0].Host, list[1].Host)
	}

	out := t.TempDir()
	paths, err := store.Fetch(ctx, "20261130T080000Z-gw-arp", out)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 2 {
		t.Fatalf("Fetch = %v, want 2 zips", paths)
	}
	f, _ := os.Open(paths[0])
	defer f.Close()
	h := sha256.New()
	io.Copy(h, f)
	if !bytes.Equal(h.Sum(nil), sum[:]) {
		t.Errorf("%s: downloaded bytes differ from the uploaded zip", paths[0])
	}
	if _, err := store.Fetch(ctx, "20261130T090000Z-nothing", out); err == nil {
		t.Error("Fetch of an unknown incident: no error")
	}
}

func TestIncidentPrefersTheSharedID(t *testing.T) {
	for _, c := range []struct{ id, incident, want string }{
		{"20261130T080000Z-gw-arp", "", "20261130T080000Z-gw-arp"},
		{"20261130T080001Z-srv-peer", "20261130T080000Z-gw-1a2b3c4d", "20261130T080000Z-gw-1a2b3c4d"},
		{"20261130T080001Z-srv-peer", "../../etc/passwd", "20261130T080001Z-srv-peer"},
	} {
		m := &bundle.Manifest{ID: c.id}
		m.Trigger.Incident = c.incident
		if got := upload.Incident(m); got != c.want {
			t.Errorf("Incident(id %q, incident %q) = %q, want %q", c.id, c.incident, got, c.want)
		}
	}
}
