package progress

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestBar(t *testing.T) {
	var buf bytes.Buffer
	clock := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	b := &Bar{w: &buf, now: func() time.Time { return clock }}
	const total = 64 << 20
	steps := []struct {
		name        string
		advance     time.Duration
		done, total int64
		want        string
	}{
		{"a small input draws nothing", time.Second, 1 << 20, 4 << 20, ""},
		{"a big one draws", 0, 16 << 20, total, "\rreading [#######                       ]  25%  16/64 MB "},
		{"not again within 100 ms", 99 * time.Millisecond, 32 << 20, total, ""},
		{"after 100 ms it does", time.Millisecond, 32 << 20, total, "\rreading [###############               ]  50%  32/64 MB "},
		{"done", time.Second, total, total, "\rreading [##############################] 100%  64/64 MB "},
		{"more than the total stays full", time.Second, total + 1<<20, total, "\rreading [##############################] 101%  65/64 MB "},
	}
	for _, s := range steps {
		clock = clock.Add(s.advance)
		buf.Reset()
		b.Update(s.done, s.total)
		if diff := cmp.Diff(s.want, buf.String()); diff != "" {
			t.Errorf("%s: (-want +got)\n%s", s.name, diff)
		}
	}
	buf.Reset()
	b.Clear()
	if want := "\r" + strings.Repeat(" ", 70) + "\r"; buf.String() != want {
		t.Errorf("Clear wrote %q, want %q", buf.String(), want)
	}
}

// A bar that never drew clears nothing, and a nil bar does nothing.
func TestBarQuiet(t *testing.T) {
	var buf bytes.Buffer
	b := &Bar{w: &buf, now: time.Now}
	b.Update(1, 2)
	b.Clear()
	if buf.Len() != 0 {
		t.Errorf("a small input's bar wrote %q", buf.String())
	}
	var nb *Bar
	nb.Update(1<<30, 2<<30)
	nb.Clear()
}

func TestOnTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if b := OnTerminal(f); b != nil {
		t.Error("a bar on a regular file")
	}
	if b := OnTerminal(&bytes.Buffer{}); b != nil {
		t.Error("a bar on a buffer")
	}
	if runtime.GOOS == "windows" {
		t.Skip("skipping the character device on Windows: NUL's mode there is not a terminal's")
	}
	// What counts is a character device, as a terminal is (and /dev/null).
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	if b := OnTerminal(null); b == nil {
		t.Errorf("no bar on %s, a character device", os.DevNull)
	}
}
