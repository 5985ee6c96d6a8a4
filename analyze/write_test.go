package analyze

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arpbox/arpbox/analyze/analyzetest"
)

// TestWriteReportsNamesBundleFilesRelative: a report written into a bundle
// names the bundle's capture by its name in the bundle, not by the staging
// path it was written from.
func TestWriteReportsNamesBundleFilesRelative(t *testing.T) {
	dir := t.TempDir()
	gw := analyzetest.MAC("02:00:00:00:00:01")
	var buf bytes.Buffer
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	if err := analyzetest.WritePcapNG(&buf, []analyzetest.Frame{{Time: t0, Data: analyzetest.Request(gw, "10.0.0.1", "10.0.0.5")}}); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(dir, "capture.pcapng")
	if err := os.WriteFile(in, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteReports(context.Background(), dir, []string{in}, Options{}); err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Sides []struct {
			Path string `json:"path"`
		} `json:"sides"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Sides) != 1 || rep.Sides[0].Path != "capture.pcapng" {
		t.Errorf("sides = %+v, want the path capture.pcapng", rep.Sides)
	}
	for _, f := range []string{"report.txt", "report.html"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	if relTo("/a/b", "/a/bc/x") != "/a/bc/x" || relTo("/a/b", "/a/b/x") != "x" {
		t.Error("relTo must only shorten paths inside dir")
	}
}

// TestWriteHTMLFile: the file holds the page WriteHTML renders; a path
// that cannot be written is an error naming it, and nothing is left.
func TestWriteHTMLFile(t *testing.T) {
	gw := analyzetest.MAC("02:00:00:00:00:01")
	var capture bytes.Buffer
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	if err := analyzetest.WritePcapNG(&capture, []analyzetest.Frame{{Time: t0, Data: analyzetest.Request(gw, "10.0.0.1", "10.0.0.5")}}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "capture.pcapng")
	if err := os.WriteFile(in, capture.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := Analyze(context.Background(), []string{in}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := rep.WriteHTML(&want); err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(dir, "r.html")
	if err := rep.WriteHTMLFile(page); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("the file differs from WriteHTML's page: %d bytes, want %d", len(got), want.Len())
	}
	bad := filepath.Join(dir, "missing", "r.html")
	if err := rep.WriteHTMLFile(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("WriteHTMLFile(%s) = %v, want an error naming the path", bad, err)
	}
}
