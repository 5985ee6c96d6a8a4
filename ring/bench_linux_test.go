package ring

import (
	"syscall"
	"testing"
	"time"
)

// BenchmarkWritePacketCPU writes 60-byte frames with the default segment
// size to the test's temporary directory and reports the process CPU time
// (user+sys: encoding, write syscalls, background fsync) per packet, which
// on a loaded box is steadier than wall time.
func BenchmarkWritePacketCPU(b *testing.B) {
	clk := &fakeClock{t: t0}
	w := newTestWriter(b, Config{SegmentBytes: 10 << 20, MaxBytes: 100 << 20}, clk)
	writeCPU(b, w, clk)
}

// writeCPU writes b.N 60-byte frames alternating between two interfaces,
// ticking every 65536, closes w, and reports the process CPU time per
// packet.
func writeCPU(b *testing.B, w *Writer, clk *fakeClock) {
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

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
