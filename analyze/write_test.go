package analyze

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
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
