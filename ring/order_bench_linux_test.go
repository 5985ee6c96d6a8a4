package ring

import (
	"testing"
	"time"
)

// BenchmarkWritePacketReorder is BenchmarkWritePacketCPU with the reorder
// buffer on (two interfaces alternating, as in a storm on both): compare
// the two in one run.
func BenchmarkWritePacketReorder(b *testing.B) {
	clk := &fakeClock{t: t0}
	w := NewWriter(Config{Dir: b.TempDir(), SegmentBytes: 10 << 20, MaxBytes: 100 << 20}, testIfaces, Options{Now: clk.Now, Reorder: true,
		Stats: func(i int) (uint64, uint64) { return 0, 0 }})
	w.diskFree = func(string) (uint64, uint64, error) { return 1 << 40, 1 << 41, nil }
	if err := w.Open(); err != nil {
		b.Fatal(err)
	}
	frame := testFrame(60)
	ts := t0
	b.ReportAllocs()
	before := cpuTime(b)
	b.ResetTimer()
	for i := range b.N {
		ts = ts.Add(time.Microsecond)
		w.WritePacket(i&1, ts, 60, frame)
		if i&0xffff == 0 {
			clk.Advance(200 * time.Millisecond)
			w.Tick(clk.Now())
		}
	}
	w.Close()
	b.StopTimer()
	b.ReportMetric(float64(cpuTime(b)-before)/float64(b.N), "cpu-ns/pkt")
}
