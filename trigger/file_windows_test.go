package trigger

import (
	"os"
	"path/filepath"
	"testing"
)

// TestOpenTriggerWindows: a regular file is opened; a directory or a
// hard-linked file is refused on the opened handle, not on a name looked
// up before.
func TestOpenTriggerWindows(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "trigger")
	if err := os.WriteFile(path, []byte("reason"), 0o600); err != nil {
		t.Fatal(err)
	}
	fh, err := openTrigger(path)
	if err != nil {
		t.Fatalf("regular file: %v", err)
	}
	fh.Close()
	other := filepath.Join(dir, "other")
	if err := os.Link(path, other); err == nil {
		if _, err := openTrigger(path); err == nil {
			t.Error("a file with two links was opened")
		}
		os.Remove(other)
	} else {
		t.Logf("no hard links here: %v", err)
	}
	os.Remove(path)
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := openTrigger(path); err == nil {
		t.Error("a directory was opened")
	}
	if _, err := openTrigger(filepath.Join(dir, "none")); !os.IsNotExist(err) {
		t.Errorf("missing file: %v, want not-exist", err)
	}
}
