package ring

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestOpenRecoversLeftovers puts the kinds of .part files a crash leaves in
// a ring directory and checks what Open makes of them.
func TestOpenRecoversLeftovers(t *testing.T) {
	part := makeSegment(t, false) // SHB, 2 IDBs, packets stamped t0+1ms..t0+6ms
	shbLen := int(binary.LittleEndian.Uint32(part[4:]))
	dir := t.TempDir()
	write := func(name string, b []byte, mtime time.Time) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	m := func(d time.Duration) time.Time { return t0.Add(d) }
	sealed := sealedName(3, m(-time.Minute), t0)
	write(sealed, part, t0)
	write(partName(5, t0), part[:len(part)-7], m(30*time.Second))         // torn last packet
	write(partName(6, m(time.Minute)), part[:10], m(time.Minute))         // torn section header
	write(partName(7, m(2*time.Minute)), part[:shbLen], m(2*time.Minute)) // no interface block
	write(partName(8, m(3*time.Minute)), part, m(-time.Hour))             // mtime before start
	write(partName(9, m(-time.Hour)), part, m(-2*time.Hour))              // packets after start and mtime
	write("notes.txt", []byte("keep me"), t0)

	clk := &fakeClock{t: m(time.Hour)}
	w := NewWriter(Config{Dir: dir}, testIfaces, Options{Now: clk.Now})
	if err := w.Open(); err != nil {
		t.Fatal(err)
	}
	want := []string{
		sealed,
		sealedName(5, t0, m(30*time.Second)),
		sealedName(8, m(3*time.Minute), m(3*time.Minute)),
		sealedName(9, m(-time.Hour), m(6*time.Millisecond)),
		partName(10, m(time.Hour)),
	}
	files := segmentFiles(t, dir)
	if diff := cmp.Diff(want, baseNames(files)); diff != "" {
		t.Errorf("segments after Open (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(filepath.Join(dir, "notes.txt")); err != nil {
		t.Errorf("Open touched a file that is not a segment: %v", err)
	}
	if n := readBack(t, files[1]); n != len(frameLens)-1 {
		t.Errorf("recovered torn segment holds %d packets, want %d", n, len(frameLens)-1)
	}
	if st := w.Stats(); st.Segments != 5 {
		t.Errorf("Stats().Segments = %d, want 5", st.Segments)
	}
	w.Close()
	capinfos(t, segmentFiles(t, dir)...)
}

// TestDiskFullSealsWhatIsValid makes the current segment's file fail with
// "no space left" (/dev/full) and checks that the writer seals the part
// that reached the disk, counts the loss and goes on in a new segment.
func TestDiskFullSealsWhatIsValid(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("skipping: no /dev/full: %v", err)
	}
	clk := &fakeClock{t: t0}
	w := newTestWriter(t, Config{}, clk)
	for range 10 {
		w.WritePacket(0, clk.Now(), 60, testFrame(60))
	}
	w.Flush()
	for range 5 {
		w.WritePacket(1, clk.Now(), 60, testFrame(60))
	}
	real := w.cur.f
	w.cur.f = full // the next write fails with ENOSPC
	// Closed now, as fail closes the segment file: Windows cannot rename a
	// file that is still open.
	real.Close()
	clk.Advance(time.Second)
	w.Tick(clk.Now()) // flush fails
	st := w.Stats()
	want := Stats{PacketsWritten: 15, BytesWritten: 15 * uint64(epbLen(60)), PacketsDropped: 5,
		SegmentsSealed: 1, WriteErrors: 1, DiskFull: 1, Segments: 1}
	st.RingBytes = 0
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("stats after disk full (-want +got):\n%s", diff)
	}
	files := segmentFiles(t, w.cfg.Dir)
	if len(files) != 1 || readBack(t, files[0]) != 10 {
		t.Fatalf("after disk full: files %v, want one sealed segment with 10 packets", files)
	}
	// Packets are dropped (counted) until the retry starts a new segment.
	w.WritePacket(0, clk.Now(), 60, testFrame(60))
	clk.Advance(retryMin)
	w.Tick(clk.Now())
	w.WritePacket(0, clk.Now(), 60, testFrame(60))
	w.Close()
	st = w.Stats()
	if st.PacketsDropped != 6 || st.PacketsWritten != 16 || st.SegmentsSealed != 2 {
		t.Errorf("stats after recovery: %+v", st)
	}
	files = segmentFiles(t, w.cfg.Dir)
	if len(files) != 2 || readBack(t, files[1]) != 1 {
		t.Errorf("after recovery: files %v, want a second segment with 1 packet", files)
	}
	capinfos(t, files...)
}

// TestOpenLocksDir checks that a second writer cannot open a ring another
// writer is using (it would "repair" the other's current segment).
func TestOpenLocksDir(t *testing.T) {
	clk := &fakeClock{t: t0}
	w1 := newTestWriter(t, Config{}, clk)
	w2 := NewWriter(Config{Dir: w1.cfg.Dir}, testIfaces, Options{Now: clk.Now})
	err := w2.Open()
	if runtime.GOOS == "linux" || runtime.GOOS == "windows" {
		if !errors.Is(err, ErrLocked) {
			t.Fatalf("second Open = %v, want ErrLocked", err)
		}
	}
	w1.Close()
	w3 := NewWriter(Config{Dir: w1.cfg.Dir}, testIfaces, Options{Now: clk.Now})
	if err := w3.Open(); err != nil {
		t.Fatalf("Open after the first writer closed: %v", err)
	}
	w3.Close()
}
