package upload_test

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/arpbox/arpbox/bundle"
)

// writeZip writes <dir>/<id>.zip, a bundle zip holding <id>/manifest.json
// and <id>/capture.bin of payload random bytes.
func writeZip(t testing.TB, dir, id, host string, payload int) string {
	t.Helper()
	T := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	m := bundle.Manifest{Format: bundle.FormatVersion, ID: id, Host: host, Created: T,
		Trigger: bundle.Event{Trigger: "gw-arp", Check: "arp", Reason: "test", Time: T},
		Window:  bundle.ManifestWindow{Requested: bundle.Window{From: T.Add(-time.Minute), To: T.Add(10 * time.Second)}}}
	var mb bytes.Buffer
	if err := bundle.WriteManifest(&mb, &m); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, payload)
	rand.Read(data)
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	for name, b := range map[string][]byte{id + "/" + bundle.FileManifest: mb.Bytes(), id + "/capture.bin": data} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, id+bundle.ZipExt)
	if err := os.WriteFile(p, zb.Bytes(), 0o640); err != nil {
		t.Fatal(err)
	}
	return p
}
