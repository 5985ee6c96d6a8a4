package recorder

import (
	"context"
	"testing"
	"time"

	"github.com/arpbox/arpbox/capture"
	"github.com/arpbox/arpbox/configs"
	"github.com/arpbox/arpbox/ring"
)

// TestStatusLiveUnderSustainedTraffic: batches that never drain, rotating
// 64 KiB segments by size several times a second, must not freeze the
// ring's counters in `status` (they were published only on the ring's
// tick, which that traffic kept postponing for up to a minute): two reads
// a second apart show them rising, and retention keeps the ring within
// max_size meanwhile.
func TestStatusLiveUnderSustainedTraffic(t *testing.T) {
	cfg := ring.Config{Dir: t.TempDir(), SegmentBytes: ring.MinSegmentBytes, MaxBytes: 8 * ring.MinSegmentBytes}.WithDefaults()
	w := ring.NewWriter(cfg, []ring.Interface{{Name: "eth0", SnapLen: 262144}}, ring.Options{})
	if err := w.Open(); err != nil {
		t.Fatal(err)
	}
	o := newRingOwner(discard(), w, 1, nil)
	rec := &Recorder{cfg: &configs.Config{}, ring: o, caps: newCaptures()}
	rec.reload.cur.Store(rec.cfg)

	captured := make(chan struct{})
	tended := make(chan error, 1)
	go func() { tended <- o.tend(captured) }()
	ctx, cancel := context.WithCancel(context.Background())
	wrote := make(chan struct{})
	go func() { // the capture goroutine: sustained, never drained
		defer close(wrote)
		frame := make([]byte, 60)
		batch := &capture.Batch{Frames: make([]capture.Frame, 50)}
		for ctx.Err() == nil {
			now := time.Now()
			for i := range batch.Frames {
				batch.Frames[i] = capture.Frame{Time: now, Length: 60, Data: frame}
			}
			o.write(batch)
			time.Sleep(time.Millisecond)
		}
	}()
	defer func() {
		cancel()
		<-wrote
		close(captured)
		if err := <-tended; err != nil {
			t.Errorf("tend: %v", err)
		}
	}()

	time.Sleep(1500 * time.Millisecond)
	first := rec.Status().Ring
	time.Sleep(time.Second)
	second := rec.Status().Ring
	t.Logf("1.5 s: %d packets, %d sealed, %d pruned, %d bytes in the ring", first.PacketsWritten, first.SegmentsSealed, first.SegmentsPruned, first.RingBytes)
	t.Logf("2.5 s: %d packets, %d sealed, %d pruned, %d bytes in the ring", second.PacketsWritten, second.SegmentsSealed, second.SegmentsPruned, second.RingBytes)
	// What the capture goroutine handed over, counted live by the owner:
	// enough to have rotated by size many times.
	if _, bytes := o.counts(0); bytes < 4*uint64(cfg.SegmentBytes) {
		t.Fatalf("only %d bytes written in 2.5 s: the traffic did not rotate by size", bytes)
	}
	if second.PacketsWritten <= first.PacketsWritten || second.SegmentsSealed <= first.SegmentsSealed {
		t.Errorf("status froze: packets %d → %d, sealed %d → %d", first.PacketsWritten, second.PacketsWritten, first.SegmentsSealed, second.SegmentsSealed)
	}
	if second.SegmentsPruned == 0 {
		t.Errorf("no segment pruned after %d sealed into a ring of 8", second.SegmentsSealed)
	}
}
