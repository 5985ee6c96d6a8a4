package ring

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// waitChanged waits up to 2 s for the watch to have seen an event, without
// taking it.
func waitChanged(t *testing.T, w *Writer) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !w.dirw.changed.Load() {
		if time.Now().After(deadline) {
			t.Fatal("no inotify event within 2 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestDirWatchNoPolling: with inotify, draining batches for a long time
// does not look at the ring directory (a stat each time would be most of an
// idle arpbox's system calls); an event on the lock file makes the next
// drain look.
func TestDirWatchNoPolling(t *testing.T) {
	clk := &fakeClock{t: t0}
	w := newTestWriter(t, Config{FlushInterval: time.Second}, clk)
	defer w.Close()
	if w.dirw == nil {
		t.Fatal("no inotify watch on the ring directory")
	}
	checked := w.dirChecked
	for range 20 {
		clk.Advance(time.Second)
		w.WritePacket(0, clk.Now(), 60, testFrame(60))
		w.Drained(clk.Now())
	}
	if w.dirChecked != checked {
		t.Errorf("20 drains over 20 s looked at the directory (last at %v): want no look without an event", w.dirChecked)
	}
	if err := os.Chmod(lockPath(w.cfg.Dir), 0o640); err != nil {
		t.Fatal(err)
	}
	waitChanged(t, w)
	clk.Advance(time.Second)
	w.WritePacket(0, clk.Now(), 60, testFrame(60))
	w.Drained(clk.Now())
	if w.dirChecked == checked {
		t.Error("an event on the lock file did not make the next drain look")
	}
	if st := w.Stats(); st.DirRecreated != 0 {
		t.Errorf("DirRecreated = %d after a chmod, want 0", st.DirRecreated)
	}
}

// TestDirRemovedSeenByEvent: a removed ring directory is noticed on the
// next drain after the event, however long the flush interval (a minute here).
func TestDirRemovedSeenByEvent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ring")
	w := NewWriter(Config{Dir: dir, FlushInterval: time.Minute}, testIfaces, Options{Hostname: "h"})
	if err := w.Open(); err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	// batch writes a frame and drains, as the recorder does per batch.
	batch := func() {
		now := time.Now()
		w.WritePacket(0, now, 60, testFrame(60))
		w.Drained(now)
	}
	batch()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	waitChanged(t, w)
	batch()
	if st := w.Stats(); st.DirRecreated != 1 {
		t.Fatalf("DirRecreated = %d after rm -rf and a drain, want 1", st.DirRecreated)
	}
	if _, err := os.Stat(lockPath(dir)); err != nil {
		t.Errorf("lock not recreated: %v", err)
	}
	if w.dirw == nil {
		t.Error("no watch on the recreated directory")
	}
	// The recreated directory is watched again.
	if err := os.Rename(dir, dir+".old"); err != nil {
		t.Fatal(err)
	}
	waitChanged(t, w)
	batch()
	if st := w.Stats(); st.DirRecreated != 2 {
		t.Errorf("DirRecreated = %d after the recreated directory was renamed away, want 2", st.DirRecreated)
	}
}
