package ring

import (
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestClockRecord: the writer compares the wall clock with the monotonic
// one (both injected), counts and records each step with the segment it
// starts and the offset from then on, rotates at the step, and a reopen
// starts a new timeline, keeping only the records its segments need.
func TestClockRecord(t *testing.T) {
	dir := t.TempDir()
	wall, mono := t0, time.Duration(0)
	opts := Options{Now: func() time.Time { return wall }, Mono: func() time.Duration { return mono }}
	advance := func(d time.Duration) { wall, mono = wall.Add(d), mono+d }
	w := NewWriter(Config{Dir: dir}, testIfaces, opts)
	w.diskFree = func(string) (uint64, uint64, error) { return 1 << 40, 1 << 41, nil }
	if err := w.Open(); err != nil {
		t.Fatal(err)
	}
	frame := testFrame(60)
	write := func(n int) {
		for range n {
			advance(100 * time.Millisecond)
			if err := w.WritePacket(0, wall, len(frame), frame); err != nil {
				t.Fatal(err)
			}
			if err := w.Tick(wall); err != nil {
				t.Fatal(err)
			}
		}
	}
	write(10)
	wall = wall.Add(-5 * time.Minute) // step back
	write(10)
	wall = wall.Add(time.Hour) // step forward
	write(10)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if st := w.Stats(); st.ClockSteps != 2 || st.SegmentsSealed != 3 {
		t.Errorf("stats %+v: want 2 clock steps and 3 segments (rotated at each)", st)
	}
	recs, err := ReadClockRecord(dir)
	if err != nil {
		t.Fatal(err)
	}
	type rec struct {
		Seq          uint64
		Step, Offset time.Duration
		Start        bool
	}
	var got []rec
	for _, r := range recs {
		got = append(got, rec{r.Seq, r.Step, r.Offset, r.Start})
	}
	want := []rec{{0, 0, 0, true}, {1, -5 * time.Minute, -5 * time.Minute, false}, {2, time.Hour, 55 * time.Minute, false}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("clock record (-want +got):\n%s", diff)
	}
	if off := OffsetAt(recs, 1); off != -5*time.Minute {
		t.Errorf("OffsetAt(1) = %v", off)
	}
	// Sealed names stay on their side of the step: the first segment ends
	// before the step back, by the old clock.
	segs, _ := List(dir)
	if len(segs) != 3 || segs[0].End.Before(segs[0].Start) || segs[0].End.After(t0.Add(2*time.Second)) {
		t.Errorf("segments %+v", segs)
	}

	// Reopen: a new timeline; records older than the oldest segment's go
	// once the ring pruned them.
	for _, s := range segs[:2] {
		if err := os.Remove(s.Path); err != nil {
			t.Fatal(err)
		}
	}
	w = NewWriter(Config{Dir: dir}, testIfaces, opts)
	w.diskFree = func(string) (uint64, uint64, error) { return 1 << 40, 1 << 41, nil }
	if err := w.Open(); err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	recs, _ = ReadClockRecord(dir)
	got = got[:0]
	for _, r := range recs {
		got = append(got, rec{r.Seq, r.Step, r.Offset, r.Start})
	}
	want = []rec{{2, time.Hour, 55 * time.Minute, false}, {3, 0, 0, true}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("clock record after reopen (-want +got):\n%s", diff)
	}
}
