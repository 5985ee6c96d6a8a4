package analyze_test

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/arpbox/arpbox/analyze"
	at "github.com/arpbox/arpbox/analyze/analyzetest"
	"github.com/arpbox/arpbox/bundle"
)

// hostile is text a stranger's bundle may hold: terminal escapes (a title
// change, clear screen, colour), a carriage return that overwrites a line,
// a newline that forges one, a bidi override and HTML.
const hostile = "evil\x1b]0;pwned\x07\x1b[2J\x1b[31m\rSAFE\nVERDICT fake\u202e<script>alert(1)</script>"

// TestHostileBundle: nothing a bundle says reaches a terminal or a browser
// unescaped, in the text, JSON and HTML reports.
func TestHostileBundle(t *testing.T) {
	T := at0(20 * time.Second)
	m := &bundle.Manifest{Format: bundle.FormatVersion, Host: hostile,
		Trigger: bundle.Event{Trigger: hostile, Check: "http", Target: "http://10.0.0.5/" + hostile, Reason: "status 503 " + hostile, Time: T},
		Window:  bundle.ManifestWindow{Requested: bundle.Window{From: at0(0), To: at0(25 * time.Second)}}}
	dir := writeBundle(t, "hostile", scenarios()[0].sides["unanswered"], m)
	var journal bytes.Buffer
	if err := bundle.WriteJournal(&journal, []bundle.JournalEntry{
		{Time: at0(12 * time.Second), Kind: "neighbor", Iface: hostile, IP: netip.MustParseAddr("10.0.0.5"), State: "FAILED" + hostile},
	}); err != nil {
		t.Fatal(err)
	}
	writeOrCheck(t, filepath.Join(dir, bundle.FileJournalJSON), journal.Bytes())
	rep, err := analyze.Analyze(context.Background(), []string{dir}, analyze.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var txt, js, page bytes.Buffer
	for _, w := range []func() error{func() error { return rep.WriteText(&txt) }, func() error { return rep.WriteJSON(&js) }, func() error { return rep.WriteHTML(&page) }} {
		if err := w(); err != nil {
			t.Fatal(err)
		}
	}
	for name, out := range map[string]string{"text": txt.String(), "json": js.String(), "html": page.String()} {
		if strings.ContainsAny(out, "\x1b\x07\r\u202e") {
			t.Errorf("%s report holds a raw control character", name)
		}
		if strings.Contains(out, "\nVERDICT fake") || strings.Contains(out, "\nSAFE") {
			t.Errorf("%s report holds a forged line", name)
		}
	}
	if strings.Contains(page.String(), "<script") {
		t.Error("html report holds a raw <script>")
	}
	if !strings.Contains(txt.String(), `evil\x1b]0;pwned\x07`) {
		t.Errorf("text report does not show the escaped host name:\n%s", txt.String())
	}
	golden(t, filepath.Join("testdata", "hostile.txt"), txt.Bytes())
}

// TestHostileFileNames: capture files named with escapes, in a ring
// directory and in a zip, are named escaped in the report and in errors.
func TestHostileFileNames(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file names with control characters: not on Windows")
	}
	var ng bytes.Buffer
	if err := at.WritePcapNG(&ng, scenarios()[0].sides["unanswered"]); err != nil {
		t.Fatal(err)
	}
	ring := filepath.Join(t.TempDir(), "ring")
	mkdir(t, ring)
	name := "arp-\x1b[31mred\x1b[0m.pcapng"
	if err := os.WriteFile(filepath.Join(ring, name), ng.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := analyze.Analyze(context.Background(), []string{ring}, analyze.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var txt bytes.Buffer
	rep.WriteText(&txt)
	if strings.Contains(txt.String(), "\x1b") || !strings.Contains(txt.String(), `arp-\x1b[31mred`) {
		t.Errorf("file name not escaped:\n%s", txt.String())
	}
	// A malformed capture's error names it escaped, too.
	if err := os.WriteFile(filepath.Join(ring, name), []byte("\x0a\x0d\x0d\x0a\x1c\x00\x00\x00\x00\x00\x00\x00"+strings.Repeat("\x00", 16)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = analyze.Analyze(context.Background(), []string{ring}, analyze.Options{})
	if err == nil || strings.Contains(err.Error(), "\x1b") {
		t.Errorf("error %q: want one, escaped", err)
	}
}

// TestZipManyEntries: a zip of 20,000 entries (the capture last) is indexed
// once: the report opens it in well under a second.
func TestZipManyEntries(t *testing.T) {
	var ng bytes.Buffer
	if err := at.WritePcapNG(&ng, scenarios()[0].sides["unanswered"]); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "many.zip")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for i := range 20000 {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("b/junk-%05d.txt", i), Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("x"))
	}
	for _, n := range []string{"b/" + bundle.FileCapturePlain, "b/" + bundle.FileManifest, "b/" + bundle.FileJournalJSON} {
		w, _ := zw.Create(n)
		switch {
		case strings.HasSuffix(n, ".pcapng"):
			w.Write(ng.Bytes())
		case strings.HasSuffix(n, bundle.FileManifest):
			w.Write([]byte(`{"host":"many"}`))
		default:
			w.Write([]byte(`[]`))
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	start := time.Now()
	rep, err := analyze.Analyze(context.Background(), []string{path}, analyze.Options{})
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("20,000-entry zip analysed in %v", took)
	if rep.Sides[0].Name != "many" || rep.Sides[0].ARP == 0 {
		t.Errorf("side %q with %d ARP: the capture or the manifest was not found", rep.Sides[0].Name, rep.Sides[0].ARP)
	}
	if took > 2*time.Second { // "well under a second" unloaded; generous on a busy box
		t.Errorf("took %v", took)
	}
}
