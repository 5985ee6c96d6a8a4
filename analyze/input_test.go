package analyze

import (
	"archive/zip"
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	at "github.com/arpbox/arpbox/analyze/analyzetest"
	"github.com/arpbox/arpbox/bundle"
	"github.com/google/go-cmp/cmp"
)

// TestInputReadsBundle: a bundle as snapshot writes it (through package
// bundle), as a directory and as a zip, names its side after the manifest's
// host, marks the trigger and takes the journal's neighbor changes; a
// manifest of a newer format is left out, the capture still read.
func TestInputReadsBundle(t *testing.T) {
	T := time.Date(2026, 11, 26, 12, 0, 10, 0, time.UTC)
	var capture, man, journal bytes.Buffer
	gw := at.MAC("02:00:00:00:00:01")
	if err := at.WritePcapNG(&capture, []at.Frame{{Time: T, Data: at.Request(gw, "10.0.0.1", "10.0.0.5")}}); err != nil {
		t.Fatal(err)
	}
	m := &bundle.Manifest{Format: bundle.FormatVersion, Host: "haproxy2",
		Trigger: bundle.Event{Trigger: "web1", Check: "tcp", Target: "10.0.0.5:80", Reason: "3 consecutive failures", Time: T}}
	if err := bundle.WriteManifest(&man, m); err != nil {
		t.Fatal(err)
	}
	err := bundle.WriteJournal(&journal, []bundle.JournalEntry{
		{Time: T.Add(-3 * time.Second), Kind: "neighbor", Iface: "eth1", IP: netip.MustParseAddr("10.0.0.5"), State: "FAILED"},
		{Time: T.Add(-2 * time.Second), Kind: "link", Iface: "eth1", State: "DOWN"},
	})
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{bundle.FileCapture: capture.Bytes(), bundle.FileManifest: man.Bytes(), bundle.FileJournalJSON: journal.Bytes()}

	dir := filepath.Join(t.TempDir(), "20261126T120010Z-web1")
	os.Mkdir(dir, 0o755)
	for n, b := range files {
		os.WriteFile(filepath.Join(dir, n), b, 0o644)
	}
	zipPath := dir + bundle.ZipExt
	zf, _ := os.Create(zipPath)
	zw := zip.NewWriter(zf)
	for n, b := range files {
		w, _ := zw.Create("20261126T120010Z-web1/" + n)
		w.Write(b)
	}
	zw.Close()
	zf.Close()

	wantMark := &Mark{Time: T, Label: "web1 (tcp 10.0.0.5:80): 3 consecutive failures", Check: "tcp", Target: "10.0.0.5:80"}
	wantNeighbor := []NeighborEvent{{Time: T.Add(-3 * time.Second), IP: "10.0.0.5", State: "FAILED", Side: "haproxy2"}}
	for _, path := range []string{dir, zipPath} {
		in, err := openInput(path)
		if err != nil {
			t.Fatal(err)
		}
		if in.name != "haproxy2" || len(in.sources) != 1 || in.sources[0].name != bundle.FileCapture {
			t.Errorf("%s: side %q, sources %+v", path, in.name, in.sources)
		}
		if d := cmp.Diff(wantMark, in.trigger); d != "" {
			t.Errorf("%s: trigger (-want +got):\n%s", path, d)
		}
		if d := cmp.Diff(wantNeighbor, in.neighbor); d != "" {
			t.Errorf("%s: neighbor events (-want +got):\n%s", path, d)
		}
		in.close() // the zip stays open while its capture is read
	}

	os.WriteFile(filepath.Join(dir, bundle.FileManifest), []byte(`{"format":99,"host":"future"}`), 0o644)
	in, err := openInput(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer in.close()
	if in.name != "20261126T120010Z-web1" || in.trigger != nil || len(in.sources) != 1 {
		t.Errorf("newer manifest format: side %q, trigger %v; want the directory's name and no trigger", in.name, in.trigger)
	}
}
