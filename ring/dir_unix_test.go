//go:build !windows

package ring

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a log sink safe for the sealer goroutine too.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRingDirRemoved removes the ring directory (rm -rf) under steady
// traffic on the real clock. Before the fix every later frame went to an
// unlinked file or nowhere, an error was logged every 10 s, Stats showed
// the old segment, and a second writer could lock the recreated directory.
// Now the writer recreates the directory and its lock within a flush
// interval or two, logs once, counts the gap, and keeps recording; a
// second writer is refused.
func TestRingDirRemoved(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ring")
	var logs syncBuffer
	w := NewWriter(Config{Dir: dir, SegmentBytes: 1 << 20, FlushInterval: 100 * time.Millisecond}, testIfaces,
		Options{Logger: slog.New(slog.NewTextHandler(&logs, nil)), Hostname: "h"})
	if err := w.Open(); err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	frame := testFrame(60)
	id := 0
	// run writes a frame every millisecond for d, as the recorder's ring
	// owner does (drain after each batch, Tick when due).
	run := func(d time.Duration, until func() bool) time.Duration {
		start := time.Now()
		for time.Since(start) < d {
			now := time.Now()
			id++
			if err := w.WritePacket(id&1, now, len(frame), frame); err != nil {
				t.Fatal(err)
			}
			w.Drained(now)
			if next := w.NextTick(now); !now.Before(next) {
				if err := w.Tick(now); err != nil {
					t.Fatal(err)
				}
			}
			if until != nil && until() {
				return time.Since(start)
			}
			time.Sleep(time.Millisecond)
		}
		return -1
	}
	run(500*time.Millisecond, nil)
	before := w.Stats()
	if before.Current == "" {
		t.Fatalf("no current segment: %+v", before)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	// Recording resumes: a new current segment in a recreated directory.
	took := run(5*time.Second, func() bool {
		st := w.Stats()
		_, err := os.Stat(filepath.Join(dir, st.Current))
		return st.DirRecreated == 1 && st.Current != before.Current && err == nil
	})
	if took < 0 {
		t.Fatalf("recording did not resume within 5s of rm -rf: %+v\n%s", w.Stats(), logs.String())
	}
	t.Logf("recording resumed %v after rm -rf", took.Round(time.Millisecond))
	if took > 2*time.Second {
		t.Errorf("recording resumed only after %v, want within about a flush interval", took)
	}
	// A second instance cannot take the recreated ring.
	w2 := NewWriter(Config{Dir: dir}, testIfaces, Options{})
	if err := w2.Open(); !errors.Is(err, ErrLocked) {
		w2.Close()
		t.Fatalf("second writer Open = %v, want ErrLocked", err)
	}
	mid := w.Stats()
	run(time.Second, nil)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	st := w.Stats()
	if st.DirRecreated != 1 || st.PacketsWritten <= mid.PacketsWritten {
		t.Errorf("stats %+v: want one recreation and recording going on", st)
	}
	// On Linux the removed current segment is still reachable by its open
	// file and is saved into the new directory: nothing is lost but the
	// sealed segments rm removed (none here). Elsewhere its frames are
	// counted as dropped.
	if wantSaved := runtime.GOOS == "linux"; wantSaved != (st.PacketsDropped == 0) || st.SegmentsLost != 0 {
		t.Errorf("stats %+v: want the current segment saved (%v) or its frames counted as dropped", st, wantSaved)
	}
	if n := strings.Count(logs.String(), "ring directory was removed"); n != 1 {
		t.Errorf("logged the removal %d times, want once:\n%s", n, logs.String())
	}
	// What was written after the recreation is on disk, readable.
	files := segmentFiles(t, dir)
	n := 0
	for _, f := range files {
		n += readBack(t, f)
	}
	if want := int(st.PacketsWritten - st.PacketsDropped); n != want {
		t.Errorf("%d packets in the recreated ring, want %d (all written, less those counted as dropped)", n, want)
	}
	capinfos(t, files...)
}
