package analyze_test

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arpbox/arpbox/analyze"
	"github.com/google/go-cmp/cmp"
)

// A bundle stores its capture as capture.pcapng.gz (a dir, or a zip that
// stores the .gz as is): the report reads it through gzip, and says the same
// as for the plain file, file names aside.
func TestGzipBundleCapture(t *testing.T) {
	plain := filepath.Join("testdata", "unanswered.pcapng")
	raw, err := os.ReadFile(plain)
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()

	dir := filepath.Join(t.TempDir(), "bundle")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "capture.pcapng.gz"), gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	zipPath := dir + ".zip"
	zf, err := os.Create(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	w := zip.NewWriter(zf)
	e, err := w.CreateHeader(&zip.FileHeader{Name: "bundle/capture.pcapng.gz", Method: zip.Store})
	if err != nil {
		t.Fatal(err)
	}
	e.Write(gz.Bytes())
	w.Close()
	zf.Close()

	analyse := func(p string) string {
		t.Helper()
		rep, err := analyze.Analyze(context.Background(), []string{p}, analyze.Options{})
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		s := rep.Sides[0]
		if len(s.Files) != 1 {
			t.Fatalf("%s: files %+v", p, s.Files)
		}
		if p != plain && s.Files[0].Name != "capture.pcapng.gz" {
			t.Errorf("%s: file name %q, want capture.pcapng.gz", p, s.Files[0].Name)
		}
		if s.Packets == 0 {
			t.Fatalf("%s: no packets", p)
		}
		s.Name, s.Path = "", ""
		b, err := json.MarshalIndent(s, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		return strings.NewReplacer("capture.pcapng.gz", "unanswered.pcapng", `"side": "`+rep.Sides[0].Name+`"`, `"side": "x"`).Replace(string(b))
	}
	want := analyse(plain)
	for _, p := range []string{dir, zipPath, filepath.Join(dir, "capture.pcapng.gz")} {
		if diff := cmp.Diff(want, analyse(p)); diff != "" {
			t.Errorf("%s (-plain +gzip):\n%s", p, diff)
		}
	}
}
