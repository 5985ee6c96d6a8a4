package bundle

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testdata/manifest.json and journal.json were written by the code this
// package replaced (snapshot's Manifest, netstate.WriteChangesJSON), every
// optional field set: reading and re-writing them must give the same bytes,
// so bundles written before and after read the same.

func TestManifestRoundTrip(t *testing.T) {
	want, err := os.ReadFile("testdata/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	m, err := ReadManifest(bytes.NewReader(want))
	if err != nil {
		t.Fatal(err)
	}
	if m.Format != FormatVersion || m.Trigger.Trigger != "web1" || m.Trigger.Target != "10.0.0.5:80" ||
		!m.Trigger.Time.Equal(time.Date(2026, 11, 26, 12, 0, 10, 123456789, time.UTC)) || *m.Interfaces[0].Dropped != 3 {
		t.Errorf("read %+v", m)
	}
	var got bytes.Buffer
	if err := WriteManifest(&got, m); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("re-written manifest differs:\n%s", got.Bytes())
	}
}

func TestJournalRoundTrip(t *testing.T) {
	want, err := os.ReadFile("testdata/journal.json")
	if err != nil {
		t.Fatal(err)
	}
	es, err := ReadJournal(bytes.NewReader(want))
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 4 || es[0].IP.String() != "10.0.0.5" || es[0].MAC != "02:00:00:00:00:05" || es[2].IP.IsValid() {
		t.Errorf("read %+v", es)
	}
	var got bytes.Buffer
	if err := WriteJournal(&got, es); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("re-written journal differs:\n%s", got.Bytes())
	}
	got.Reset()
	if err := WriteJournal(&got, nil); err != nil || got.String() != "[]\n" {
		t.Errorf("empty journal = %q, %v; want \"[]\\n\"", got.String(), err)
	}
}

func TestReadErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  func() error
		want error
	}{
		{"manifest too large", func() error {
			_, err := ReadManifest(io.MultiReader(strings.NewReader(`{"id":"`), io.LimitReader(spaces{}, MaxManifestSize), strings.NewReader(`"}`)))
			return err
		}, ErrTooLarge},
		{"over the limit by one", func() error { _, err := readLimited(strings.NewReader("12345"), 4); return err }, ErrTooLarge},
		{"at the limit", func() error { _, err := readLimited(strings.NewReader("1234"), 4); return err }, nil},
		{"newer manifest format", func() error { _, err := ReadManifest(strings.NewReader(`{"format":2}`)); return err }, ErrFormat},
	} {
		if err := tc.err(); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	// A hand-made manifest without a format still reads.
	m, err := ReadManifest(strings.NewReader(`{"host":"gw","trigger":{"name":"web1","time":"2026-11-26T12:00:10Z"},"extra":1}`))
	if err != nil || m.Host != "gw" || m.Trigger.Trigger != "web1" {
		t.Errorf("minimal manifest: %+v, %v", m, err)
	}
	if _, err := ReadJournal(strings.NewReader(`{"changes":[]}`)); err == nil {
		t.Error("a journal that is not an array: no error")
	}
	dir := t.TempDir()
	if _, err := ReadManifestDir(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("no manifest.json: %v, want ErrNotExist", err)
	}
	os.WriteFile(filepath.Join(dir, FileManifest), []byte("{"), 0o644)
	if _, err := ReadManifestDir(dir); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("broken manifest.json: %v, want an error naming %s", err, dir)
	}
}

// spaces reads as an endless run of blanks.
type spaces struct{}

func (spaces) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = ' '
	}
	return len(b), nil
}
