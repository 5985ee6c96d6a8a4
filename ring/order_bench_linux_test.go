package ring

import "testing"

// BenchmarkWritePacketReorder is BenchmarkWritePacketCPU with the reorder
// buffer on (two interfaces alternating, as in a storm on both): compare
// the two in one run.
func BenchmarkWritePacketReorder(b *testing.B) {
	clk := &fakeClock{t: t0}
	w := NewWriter(Config{Dir: b.TempDir(), SegmentBytes: 10 << 20, MaxBytes: 100 << 20}, testIfaces, Options{Now: clk.Now, Reorder: testHold,
		Stats: func(i int) (uint64, uint64) { return 0, 0 }})
	w.diskFree = func(string) (uint64, uint64, error) { return 1 << 40, 1 << 41, nil }
	if err := w.Open(); err != nil {
		b.Fatal(err)
	}
	writeCPU(b, w, clk)
}
