package ring

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/arpbox/arpbox/internal/nstest"
)

// mountTmpfs mounts a tmpfs of the given size (e.g. "2m") on a new
// directory, unmounted when the test ends.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	nstest.RequireRoot(t, "mount", "umount")
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("skipping: cannot mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// checkSealed fails the test if any sealed segment in dir is not whole.
func checkSealed(t *testing.T, dir, when string) {
	t.Helper()
	segs, err := List(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range segs {
		if s.Current {
			continue
		}
		if n, err := ValidLength(s.Path); err != nil || n != s.Size {
			t.Errorf("%s: sealed %s: %d valid of %d bytes, %v", when, filepath.Base(s.Path), n, s.Size, err)
		}
	}
}

// TestSmallTmpfsFillsUp runs the writer on a 2MiB tmpfs: first with
// max_size below the file system size (the bound holds), then with max_size
// far above it (free space decides), then with the rest of the file system
// taken by another file so that writes fail with ENOSPC: the writer keeps
// running, prunes, counts, and its sealed segments stay whole.
func TestSmallTmpfsFillsUp(t *testing.T) {
	const seg = 64 << 10
	fsDir := mountTmpfs(t, "2m")
	frame := testFrame(200)

	// run writes n packets with a tick every 20, checking the bound.
	run := func(t *testing.T, w *Writer, clk *fakeClock, n int, bound int64) {
		t.Helper()
		for i := range n {
			if err := w.WritePacket(i&1, clk.Now(), 200, frame); err != nil {
				t.Fatalf("WritePacket: %v", err)
			}
			if i%20 == 0 {
				clk.Advance(50 * time.Millisecond)
				if err := w.Tick(clk.Now()); err != nil {
					t.Fatalf("Tick: %v", err)
				}
				if used := dirBytes(t, w.cfg.Dir); used > bound {
					t.Fatalf("packet %d: ring uses %d bytes > bound %d", i, used, bound)
				}
			}
		}
		checkSealed(t, w.cfg.Dir, "after run")
	}

	t.Run("max_size bound", func(t *testing.T) {
		clk := &fakeClock{t: t0}
		dir := filepath.Join(fsDir, "bound")
		w := NewWriter(Config{Dir: dir, SegmentBytes: seg, MaxBytes: 1 << 20}, testIfaces, Options{Now: clk.Now})
		if err := w.Open(); err != nil {
			t.Fatal(err)
		}
		run(t, w, clk, 10000, 1<<20+seg) // ~2.3MB through a 1MiB ring
		w.Close()
		if st := w.Stats(); st.SegmentsPruned == 0 || st.DiskFull != 0 {
			t.Errorf("stats %+v: want pruning by max_size, no disk-full events", st)
		}
		capinfos(t, segmentFiles(t, dir)...)
		os.RemoveAll(dir)
	})

	t.Run("disk full", func(t *testing.T) {
		clk := &fakeClock{t: t0}
		dir := filepath.Join(fsDir, "full")
		// No min_free: only the room check before each new segment and
		// the reaction to ENOSPC keep it going.
		w := NewWriter(Config{Dir: dir, SegmentBytes: seg, MaxBytes: 64 << 20}, testIfaces, Options{Now: clk.Now})
		if err := w.Open(); err != nil {
			t.Fatal(err)
		}
		// Free space decides: max_size is far above the file system.
		run(t, w, clk, 12000, 2<<20) // ~2.8MB through 2MiB
		st := w.Stats()
		if st.SegmentsPruned == 0 {
			t.Errorf("stats %+v: want pruning by free space", st)
		}
		t.Logf("free-space phase: %+v", st)

		// Another file takes all the remaining space while a segment is
		// being written: its next flush fails with ENOSPC.
		ballast := filepath.Join(fsDir, "ballast")
		fillDisk(t, ballast)
		before := st
		run(t, w, clk, 5000, 2<<20)
		st = w.Stats()
		t.Logf("disk-full phase: %+v", st)
		if st.DiskFull == before.DiskFull {
			t.Errorf("no disk-full events counted with the file system full")
		}
		if st.PacketsWritten == before.PacketsWritten {
			t.Errorf("writer stopped storing packets after the disk filled up")
		}
		if st.PacketsDropped == before.PacketsDropped {
			t.Errorf("no packets counted as dropped with the file system full")
		}

		// Space comes back: the writer goes on without a restart.
		if err := os.Remove(ballast); err != nil {
			t.Fatal(err)
		}
		before = st
		run(t, w, clk, 3000, 2<<20)
		if err := w.Close(); err != nil {
			t.Logf("Close: %v", err)
		}
		st = w.Stats()
		t.Logf("recovered phase: %+v", st)
		if st.SegmentsSealed <= before.SegmentsSealed+2 {
			t.Errorf("only %d segments sealed after space came back", st.SegmentsSealed-before.SegmentsSealed)
		}
		files := segmentFiles(t, dir)
		for _, f := range files {
			readBack(t, f)
		}
		capinfos(t, files...)
		tsharkRead(t, files[len(files)-1])
		os.RemoveAll(dir)
	})

	t.Run("min_free prunes before the disk fills", func(t *testing.T) {
		clk := &fakeClock{t: t0}
		dir := filepath.Join(fsDir, "minfree")
		w := NewWriter(Config{Dir: dir, SegmentBytes: seg, MaxBytes: 64 << 20, MinFreePercent: 10}, testIfaces, Options{Now: clk.Now})
		if err := w.Open(); err != nil {
			t.Fatal(err)
		}
		run(t, w, clk, 10000, 2<<20)
		ballast := filepath.Join(fsDir, "ballast")
		fillDisk(t, ballast)
		run(t, w, clk, 5000, 2<<20)
		os.Remove(ballast)
		w.Close()
		st := w.Stats()
		t.Logf("stats: %+v", st)
		if st.DiskFull != 0 || st.PacketsDropped != 0 || st.SegmentsPruned == 0 {
			t.Errorf("stats %+v: want pruning by min_free and no disk-full events", st)
		}
		capinfos(t, segmentFiles(t, dir)...)
		os.RemoveAll(dir)
	})
}

// fillDisk writes a file at path until the file system is full.
func fillDisk(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for i := 0; i < 1<<20; i++ {
		if _, err := f.Write(chunk); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return
			}
			t.Fatal(err)
		}
	}
	t.Fatal("file system never filled up")
}
