package trigger

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/arpbox/arpbox/bundle"
	"github.com/arpbox/arpbox/internal/filekind"
)

func TestFileSource(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "trigger")
	// A file left from before start is removed without firing; its removal
	// also tells the test that the watch is in place.
	if err := os.WriteFile(path, []byte("stale"), 0o600); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 26, 1, 2, 3, 0, time.UTC)
	src := NewFileSource(path, nil)
	src.now = func() time.Time { return now }
	src.settle = 20 * time.Millisecond
	events := make(chan bundle.Event, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, func(e bundle.Event) { events <- e }) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	}()
	waitGone(t, path)

	tests := []struct {
		name    string
		write   func() error
		reason  string
		noEvent bool
	}{
		{"text", func() error { return os.WriteFile(path, []byte("gateway lost ARP\n"), 0o600) }, "gateway lost ARP", false},
		{"binary junk", func() error {
			return os.WriteFile(path, []byte("\x00\x01evil\x1b]0;title\x07 \xff\xfe\u202eexe\n\nmore"), 0o600)
		}, "?evil?]0;title? ?exe more", false},
		{"empty", func() error { return os.WriteFile(path, nil, 0o600) }, "trigger file " + path + " written", false},
		{"rename into place", func() error {
			tmp := filepath.Join(dir, ".tmp")
			if err := os.WriteFile(tmp, []byte("atomic"), 0o600); err != nil {
				return err
			}
			return os.Rename(tmp, path)
		}, "atomic", false},
		{"big file read only in part", func() error {
			b := make([]byte, 1<<20)
			for i := range b {
				b[i] = 'a'
			}
			return os.WriteFile(path, b, 0o600)
		}, string(make200a()), false},
		{"other file ignored", func() error { return os.WriteFile(filepath.Join(dir, "other"), []byte("x"), 0o600) }, "", true},
		{"symlink ignored", func() error { return os.Symlink("/etc/hostname", path) }, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.write(); err != nil {
				t.Fatal(err)
			}
			if tc.noEvent {
				select {
				case ev := <-events:
					t.Fatalf("unexpected event %+v", ev)
				case <-time.After(300 * time.Millisecond):
				}
				os.Remove(path)
				return
			}
			select {
			case ev := <-events:
				want := bundle.Event{Trigger: "file", Check: "file", Target: path, Reason: tc.reason, Time: now}
				if diff := cmp.Diff(want, ev); diff != "" {
					t.Errorf("event (-want +got):\n%s", diff)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no event")
			}
			waitGone(t, path)
			select {
			case ev := <-events:
				t.Fatalf("second event for one write: %+v", ev)
			case <-time.After(100 * time.Millisecond):
			}
		})
	}
}

func make200a() []byte {
	b := make([]byte, MaxReasonLen-3, MaxReasonLen)
	for i := range b {
		b[i] = 'a'
	}
	return append(b, "..."...)
}

func waitGone(t *testing.T, path string) {
	t.Helper()
	for range 500 {
		if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s not removed", path)
}

func TestFileSourceMissingDir(t *testing.T) {
	src := NewFileSource(filepath.Join(t.TempDir(), "nope", "trigger"), nil)
	err := src.Run(context.Background(), func(bundle.Event) {})
	if err == nil {
		t.Fatal("Run on a missing directory returned nil")
	}
}

// TestFileSourceLeavesOthersAlone: at start, only a stale regular trigger
// file is removed; a directory or symlink at the path stops Run with an
// error naming the path and what is there, and is left in place.
func TestFileSourceLeavesOthersAlone(t *testing.T) {
	for _, tc := range []struct {
		name, kind string
		make       func(path string) error
	}{
		{"directory", "directory", func(p string) error { return os.Mkdir(p, 0o700) }},
		{"symlink", "symlink", func(p string) error { return os.Symlink(filepath.Join(filepath.Dir(p), "elsewhere"), p) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "trigger")
			if err := tc.make(path); err != nil {
				t.Skipf("skipping: cannot make a %s here: %v", tc.kind, err)
			}
			fi, err := os.Lstat(path)
			if err != nil {
				t.Skipf("skipping: the %s made here cannot be looked at (Wine's symlinks): %v", tc.kind, err)
			}
			if filekind.Of(fi.Mode()) != tc.kind {
				t.Skipf("skipping: the %s made here reads as %v (Wine makes no symlinks)", tc.kind, fi.Mode())
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err = NewFileSource(path, nil).Run(ctx, func(bundle.Event) { t.Error("fired") })
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "a "+tc.kind+" is in the way") {
				t.Errorf("Run = %v, want an error naming %s and a %s", err, path, tc.kind)
			}
			if _, err := os.Lstat(path); err != nil {
				t.Errorf("the %s was removed: %v", tc.kind, err)
			}
		})
	}
}
