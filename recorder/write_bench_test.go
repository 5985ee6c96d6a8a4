package recorder

import (
	"testing"
	"time"

	"github.com/arpbox/arpbox/capture"
	"github.com/arpbox/arpbox/ring"
)

// BenchmarkRingWrite is the storm path's cost in the recorder: batches of
// 1024 ARP frames written into an open ring (on the test's temp disk).
func BenchmarkRingWrite(b *testing.B) {
	cfg := ring.Config{Dir: b.TempDir(), SegmentBytes: 64 << 20, MaxBytes: 256 << 20}.WithDefaults()
	w := ring.NewWriter(cfg, []ring.Interface{{Name: "eth0", SnapLen: 262144}}, ring.Options{})
	if err := w.Open(); err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	o := newRingOwner(discard(), w, 1, nil)
	frame := make([]byte, 42)
	batch := &capture.Batch{Frames: make([]capture.Frame, 1024)}
	now := time.Now()
	for i := range batch.Frames {
		batch.Frames[i] = capture.Frame{Time: now, Length: 42, Data: frame}
	}
	b.SetBytes(int64(len(batch.Frames)) * 42)
	b.ReportAllocs()
	for b.Loop() {
		o.write(batch)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch.Frames)), "ns/frame")
}
