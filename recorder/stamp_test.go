package recorder

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// TestFileStamp: the watcher reads the configuration again only when a
// stat says the file changed: not when another file in its directory did,
// but when it is rewritten, replaced by a rename, or (a ConfigMap) its
// symbolic link is swapped to a file of the same size and time.
func TestFileStamp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "arpbox.yaml")
	write := func(p, body string, mtime time.Time) {
		t.Helper()
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	t1 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	write(path, "log: {level: info}\n", t1)
	var s fileStamp
	step := func(what string, want bool) {
		t.Helper()
		if got := s.update(path); got != want {
			t.Errorf("%s: changed = %v, want %v", what, got, want)
		}
	}
	step("first look", true)
	step("nothing happened", false)
	write(filepath.Join(dir, "other.log"), "a line\n", time.Now())
	step("another file in the directory", false)
	write(path, "log: {level: warn}\n", t1.Add(time.Second))
	step("rewritten in place", true)
	step("nothing happened since", false)
	tmp := filepath.Join(dir, ".arpbox.yaml.swp")
	write(tmp, "log: {level: warn}\n", t1.Add(time.Second))
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" { // no inode there: a same-size, same-time replacement looks the same
		step("replaced by a rename (same size and time)", true)
	} else {
		s.update(path)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	step("removed", true)
	write(path, "log: {level: warn}\n", t1.Add(time.Second))
	step("back", true)

	if runtime.GOOS == "windows" {
		return
	}
	// A ConfigMap: the path is a symbolic link through ..data, swapped
	// atomically to a new directory.
	link := filepath.Join(dir, "cm.yaml")
	for i, v := range []string{"v1", "v2"} {
		d := filepath.Join(dir, v)
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		write(filepath.Join(d, "cm.yaml"), "log: {level: info}\n", t1)
		if i == 0 {
			if err := os.Symlink(filepath.Join(d, "cm.yaml"), link); err != nil {
				t.Fatal(err)
			}
		}
	}
	path = link
	step("link: first look", true)
	next := filepath.Join(dir, "cm.yaml.new")
	if err := os.Symlink(filepath.Join(dir, "v2", "cm.yaml"), next); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(next, link); err != nil {
		t.Fatal(err)
	}
	step("link swapped to a file of the same size and time", true)
}
