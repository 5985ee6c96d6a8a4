package capture

import (
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arpbox/arpbox/internal/nstest"
)

// countingHandle counts the reads of the OS counters (a system call each).
type countingHandle struct {
	handle
	reads *atomic.Int32
}

func (h *countingHandle) stats() (received, dropped uint64, err error) {
	h.reads.Add(1)
	return h.handle.stats()
}

// TestCountersWhileTrickling: ARP trickling in, a block a second, costs
// one wakeup per block and no system call for the counters on most of
// them (an idle host's CPU time is made of its system calls); they are
// still read within statsLinger, and a burst has them read at once.
func TestCountersWhileTrickling(t *testing.T) {
	nstest.RequireRoot(t)
	ha, hb := nstest.NewHost(t, "ta"), nstest.NewHost(t, "tb")
	la, lb := nstest.Veth(t, ha, "", hb, "")
	logs := newLogWatch(t)
	logs.quiet = true
	l := NewLive(LiveConfig{Iface: lb.Name, BufferBytes: minBufferBytes}, slog.New(logs))
	var reads atomic.Int32
	l.open = func(cfg LiveConfig) (handle, error) {
		h, err := openHandle(cfg)
		if err != nil {
			return nil, err
		}
		return &countingHandle{handle: h, reads: &reads}, nil
	}
	out, stop := liveRun(t, hb, l, 64)
	logs.wait("capture: started")
	frame := arpFrame()
	copy(frame[6:12], la.MAC)

	// 6 s of ARP at 5 frames a second: about six blocks, six wakeups.
	sendRaw(t, ha, la.Name, frame, 1)
	if n := countARPFrom(collect(t, out, blockTimeout+2*time.Second, func(f []Frame) bool { return countARPFrom(f, la.MAC) >= 1 }), la.MAC); n != 1 {
		t.Fatalf("first frame: %d of 1 delivered", n)
	}
	before := reads.Load()
	start := time.Now()
	const trickle = 30
	done := make(chan []Frame, 1)
	go func() {
		done <- collect(t, out, 7*time.Second+blockTimeout, func(f []Frame) bool { return countARPFrom(f, la.MAC) >= trickle })
	}()
	for range trickle {
		sendRaw(t, ha, la.Name, frame, 1)
		time.Sleep(200 * time.Millisecond)
	}
	if n := countARPFrom(<-done, la.MAC); n != trickle {
		t.Fatalf("trickle: %d of %d delivered", n, trickle)
	}
	during := reads.Load() - before
	took := time.Since(start)
	t.Logf("counters read %d times in %v of trickling ARP", during, took.Round(time.Millisecond))
	// Within statsLinger (9 s) of the last read: at most one read per
	// statsLinger plus the one a burst-free wakeup may still take.
	if max := int32(took/statsLinger) + 2; during > max {
		t.Errorf("counters read %d times in %v of trickling ARP, want at most %d (every statsLinger = %v)", during, took, max, statsLinger)
	}

	// A burst (a full block, or several waiting): counters read on that
	// wakeup.
	before = reads.Load()
	sendRaw(t, ha, la.Name, frame, 5000)
	collect(t, out, blockTimeout+2*time.Second, func(f []Frame) bool { return countARPFrom(f, la.MAC) >= 5000 })
	deadline := time.Now().Add(3 * time.Second)
	for reads.Load() == before && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if reads.Load() == before {
		t.Errorf("no counter read within 3 s of a 5000-frame burst")
	}
	// What the trickle's wakeups did not read is in the burst's read.
	if st := l.Stats(); st.Received < trickle+1+5000 {
		t.Errorf("Stats().Received = %d after %d frames", st.Received, trickle+1+5000)
	}
	if err, _ := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
}
