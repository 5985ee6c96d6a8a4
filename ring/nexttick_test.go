package ring

import (
	"testing"
	"time"
)

// TestNextTickUnderTraffic: an owner that writes a batch every 10 ms, never
// drains, and ticks only when NextTick says so (as arpbox's ring owner
// does) still ticks at least every FlushInterval while segments rotate by
// size: neither the seals waiting to be accounted for nor the new segments
// (each starting its own flush timer) put the tick off for ever. Stats,
// published on each tick, stay at most that old; the sealed segments are
// accounted for and retention keeps the ring within max_size.
func TestNextTickUnderTraffic(t *testing.T) {
	clk := &fakeClock{t: t0}
	w := newTestWriter(t, Config{SegmentBytes: MinSegmentBytes, MaxBytes: 8 * MinSegmentBytes, FlushInterval: time.Second}, clk)
	frame := testFrame(60)
	var ticks []time.Time
	lastTick := clk.Now()
	for i := 0; i < 500; i++ { // 5 s
		clk.Advance(10 * time.Millisecond)
		for range 100 {
			if err := w.WritePacket(0, clk.Now(), len(frame), frame); err != nil {
				t.Fatal(err)
			}
		}
		if now := clk.Now(); !now.Before(w.NextTick(now)) {
			w.Tick(now)
			ticks = append(ticks, now)
			if gap := now.Sub(lastTick); gap > time.Second+10*time.Millisecond {
				t.Errorf("tick at %v came %v after the one before (FlushInterval 1s)", now.Sub(t0), gap)
			}
			lastTick = now
		}
		if age := clk.Now().Sub(lastTick); age > time.Second+10*time.Millisecond {
			t.Fatalf("at %v: no tick for %v under traffic (NextTick %v)", clk.Now().Sub(t0), age, w.NextTick(clk.Now()).Sub(t0))
		}
	}
	st := w.Stats()
	if st.SegmentsSealed < 20 {
		t.Fatalf("only %d segments sealed: the traffic did not rotate by size", st.SegmentsSealed)
	}
	if st.PacketsWritten < 50000-100*100 {
		t.Errorf("Stats after %d ticks show %d of 50000 packets written: stale", len(ticks), st.PacketsWritten)
	}
	if st.SegmentsPruned == 0 {
		t.Errorf("no segment pruned after %d sealed into a ring of 8", st.SegmentsSealed)
	}
	if len(ticks) > 10 {
		t.Errorf("%d ticks in 5 s: the owner is ticked more often than every FlushInterval", len(ticks))
	}
	t.Logf("%d ticks in 5 s; %d sealed, %d pruned, %d packets published", len(ticks), st.SegmentsSealed, st.SegmentsPruned, st.PacketsWritten)
	w.Close()
}

// TestNextTickPendingSealIsFixed: a seal waiting to be accounted for is due
// at a fixed time after it was queued, however often NextTick is asked.
func TestNextTickPendingSealIsFixed(t *testing.T) {
	clk := &fakeClock{t: t0}
	w := newTestWriter(t, Config{FlushInterval: time.Second}, clk)
	w.WritePacket(0, clk.Now(), 60, testFrame(60))
	w.rotate(clk.Now(), false)
	w.Flush() // the new segment's headers; publishes, so only the seal is due
	want := t0.Add(time.Second)
	for _, d := range []time.Duration{0, 300 * time.Millisecond, 900 * time.Millisecond} {
		if got := w.NextTick(t0.Add(d)); !got.Equal(want) {
			t.Errorf("asked at %v: NextTick = %v, want the seal at %v", d, got.Sub(t0), want.Sub(t0))
		}
	}
	w.Close()
}
