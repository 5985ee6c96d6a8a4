package recorder

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestUnwritableSnapshotsDir: a snapshots.dir that cannot be written stops
// the start with an error naming it, instead of failing the first bundle.
func TestUnwritableSnapshotsDir(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	readOnly := filepath.Join(dir, "ro")
	if err := os.Mkdir(readOnly, 0o500); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, snaps string
		asUser      bool // root writes into a 0500 directory anyway
	}{
		{"below a regular file", filepath.Join(blocker, "snapshots"), false},
		{"read-only directory", readOnly, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.asUser && os.Geteuid() == 0 {
				t.Skip("skipping: root may write a read-only directory")
			}
			if tc.asUser && runtime.GOOS == "windows" {
				t.Skip("skipping on Windows: a directory's read-only attribute does not stop creating files in it")
			}
			cfg := parseConfig(t, fmt.Sprintf("capture:\n  interfaces: [lo]\nring:\n  dir: %s/ring\nsnapshots:\n  dir: %s\ncontrol:\n  socket: %s/arpbox.sock\n", dir, tc.snaps, dir))
			rec := New(cfg, nil, Options{Ready: func() { t.Error("Ready called by a recorder that did not start") }})
			// Bounded: a recorder that wrongly starts records until this ends.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := rec.Run(ctx)
			var se *StartError
			if !errors.As(err, &se) || !strings.Contains(err.Error(), "snapshots.dir "+tc.snaps) {
				t.Fatalf("Run = %v, want a *StartError naming snapshots.dir %s", err, tc.snaps)
			}
			t.Log(err)
		})
	}
}
