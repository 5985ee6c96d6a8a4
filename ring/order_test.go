package ring

import (
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"
)

// testHold is the reorder hold the tests give the Writer (Options.Reorder).
const testHold = 1500 * time.Millisecond

func newOrderedWriter(t testing.TB, clk *fakeClock) *Writer {
	t.Helper()
	w := NewWriter(Config{Dir: t.TempDir(), SegmentAge: time.Hour}, testIfaces, Options{Now: clk.Now, Reorder: testHold})
	w.diskFree = func(string) (uint64, uint64, error) { return 1 << 40, 1 << 41, nil }
	if err := w.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// timesOf reads a segment's packet times and interfaces with gopacket.
func timesOf(t *testing.T, path string) (ts []time.Time, ifaces []int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	for {
		_, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return ts, ifaces
		}
		if err != nil {
			t.Fatal(err)
		}
		ts, ifaces = append(ts, ci.Timestamp), append(ifaces, ci.InterfaceIndex)
	}
}

// Two interfaces whose batches arrive a second out of step, as the
// kernel's blocks hand them over, are written in time order; the owner
// that ticks when NextTick says so has every frame on disk testHold after
// it was stamped, even when the other interface is silent.
func TestReorderInterfaces(t *testing.T) {
	clk := &fakeClock{t: t0}
	w := newOrderedWriter(t, clk)
	tick := func() {
		if now := clk.Now(); !now.Before(w.NextTick(now)) {
			if err := w.Tick(now); err != nil {
				t.Fatal(err)
			}
		}
	}
	// eth1's frames of each second arrive at its end; eth2's, stamped
	// half a second later, arrive half a second after that.
	const seconds = 5
	for s := range seconds {
		for iface, lag := range []time.Duration{0, 500 * time.Millisecond} {
			clk.t = t0.Add(time.Duration(s+1)*time.Second + lag)
			for k := range 10 {
				ts := t0.Add(time.Duration(s)*time.Second + lag + time.Duration(k)*100*time.Millisecond)
				if err := w.WritePacket(iface, ts, 64, testFrame(60)); err != nil {
					t.Fatal(err)
				}
			}
			w.Drained(clk.Now())
			tick()
		}
	}
	// eth2 falls silent; eth1's last frames are written by the tick
	// testHold after they were stamped, not before.
	clk.t = t0.Add(seconds*time.Second + 500*time.Millisecond)
	for k := range 5 {
		if err := w.WritePacket(0, t0.Add(seconds*time.Second+time.Duration(k)*100*time.Millisecond), 64, testFrame(60)); err != nil {
			t.Fatal(err)
		}
	}
	tick()
	held := w.Stats().PacketsWritten
	if due := w.NextTick(clk.Now()); due.After(t0.Add(seconds*time.Second + testHold)) {
		t.Errorf("NextTick = %v, want the held frames due by %v", due, t0.Add(seconds*time.Second+testHold))
	}
	clk.t = t0.Add(seconds*time.Second + 400*time.Millisecond + testHold)
	tick()
	if got := w.Stats().PacketsWritten; got != 2*10*seconds+5 || held == got {
		t.Errorf("after testHold: %d packets written (%d before), want all %d", got, held, 2*10*seconds+5)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	files := segmentFiles(t, w.cfg.Dir)
	ts, ifaces := timesOf(t, files[0])
	if len(ts) != 2*10*seconds+5 {
		t.Fatalf("%d packets in the segment, want %d", len(ts), 2*10*seconds+5)
	}
	for i := 1; i < len(ts); i++ {
		if ts[i].Before(ts[i-1]) {
			t.Errorf("packet %d (interface %d) at %v is before packet %d at %v", i+1, ifaces[i], ts[i], i, ts[i-1])
		}
	}
	if st := w.Stats(); st.OutOfOrder != 0 {
		t.Errorf("Stats().OutOfOrder = %d, want 0", st.OutOfOrder)
	}
	capinfos(t, files...)
}

// Flush writes every held frame: the snapshotter reads the file after it.
func TestReorderFlushWritesAll(t *testing.T) {
	clk := &fakeClock{t: t0}
	w := newOrderedWriter(t, clk)
	for k := range 7 {
		if err := w.WritePacket(0, t0.Add(time.Duration(k)*time.Millisecond), 64, testFrame(60)); err != nil {
			t.Fatal(err)
		}
	}
	if n := w.Stats().PacketsWritten; n != 0 {
		t.Fatalf("%d packets written while eth2 has said nothing, want them held", n)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := readBack(t, w.cur.path); n != 7 {
		t.Errorf("after Flush the .part holds %d packets, want 7", n)
	}
}

// The buffer is bounded: a storm on one interface next to a silent one
// holds at most orderMaxFrames frames, and once warm, holding and writing
// allocate nothing.
func TestReorderBounded(t *testing.T) {
	clk := &fakeClock{t: t0}
	w := newOrderedWriter(t, clk)
	frame := testFrame(60)
	ts := t0
	for range orderMaxFrames + 1000 {
		ts = ts.Add(time.Microsecond)
		if err := w.WritePacket(0, ts, 64, frame); err != nil {
			t.Fatal(err)
		}
	}
	if w.ord.frames > orderMaxFrames+1 {
		t.Errorf("%d frames held, want at most %d", w.ord.frames, orderMaxFrames+1)
	}
	i := 0
	allocs := testing.AllocsPerRun(10000, func() {
		ts = ts.Add(time.Microsecond)
		_ = w.WritePacket(i&1, ts, 64, frame)
		i++
	})
	if allocs > 0 {
		t.Errorf("WritePacket with reordering: %.2f allocations per packet, want 0", allocs)
	}
}
