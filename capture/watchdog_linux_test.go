package capture

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arpbox/arpbox/internal/nstest"
)

// stuckHandle is a real TPACKET_V3 socket that stops handing frames over
// once stuck is set (as a ring out of step with the kernel does): the
// kernel keeps receiving and counting them, and waits still end at their
// deadline, on interrupt, or on a kernel wakeup.
type stuckHandle struct {
	handle
	stuck *atomic.Bool
	wake  chan struct{}
}

func (h *stuckHandle) ready() bool { return !h.stuck.Load() && h.handle.ready() }

func (h *stuckHandle) pending() bool { return !h.stuck.Load() && h.handle.pending() }

func (h *stuckHandle) wait(ctx context.Context, deadline time.Time) error {
	if !h.stuck.Load() {
		return h.handle.wait(ctx, deadline)
	}
	// The kernel's wakeups for the blocks it retires are spurious to a
	// reader that waits on another block; a short nap stands in for them.
	t := time.NewTimer(min(time.Until(deadline), 200*time.Millisecond))
	defer t.Stop()
	select {
	case <-t.C:
	case <-h.wake:
	}
	return nil
}

func (h *stuckHandle) interrupt() {
	h.handle.interrupt()
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// TestWatchdogReopensStuckCapture: a capture that stops handing frames
// over while the kernel counts them is reopened within stallAfter and
// records again; sparse traffic (frames held up to the block timeout) and
// silence are no reason to reopen.
func TestWatchdogReopensStuckCapture(t *testing.T) {
	nstest.RequireRoot(t)
	ha, hb := nstest.NewHost(t, "wa"), nstest.NewHost(t, "wb")
	la, lb := nstest.Veth(t, ha, "", hb, "")
	logs := newLogWatch(t)
	logs.quiet = true
	l := NewLive(LiveConfig{Iface: lb.Name}, slog.New(logs))
	l.stallAfter = 2 * time.Second
	var stuck atomic.Bool
	var opens atomic.Int32
	l.open = func(cfg LiveConfig) (handle, error) {
		h, err := openHandle(cfg)
		if err != nil {
			return nil, err
		}
		if opens.Add(1) == 1 { // only the first handle gets stuck
			return &stuckHandle{handle: h, stuck: &stuck, wake: make(chan struct{}, 1)}, nil
		}
		return h, nil
	}
	out, stop := liveRun(t, hb, l, 64)
	logs.wait("capture: started")
	frame := arpFrame()
	copy(frame[6:12], la.MAC)

	// Sparse frames (each held by the kernel up to blockTimeout) and
	// silence, each longer than stallAfter: no reopen.
	for range 8 {
		sendRaw(t, ha, la.Name, frame, 1)
		time.Sleep(400 * time.Millisecond)
	}
	time.Sleep(3 * time.Second)
	if n := countARPFrom(collect(t, out, blockTimeout+2*time.Second, func(f []Frame) bool { return countARPFrom(f, la.MAC) >= 8 }), la.MAC); n != 8 {
		t.Fatalf("sparse frames: %d of 8 delivered", n)
	}
	if got := l.WatchdogReopens(); got != 0 {
		t.Fatalf("WatchdogReopens = %d after sparse traffic and silence, want 0", got)
	}

	// Stuck: frames keep coming, none is handed over.
	stuck.Store(true)
	start := time.Now()
	deadline := time.Now().Add(15 * time.Second)
	for l.WatchdogReopens() == 0 && time.Now().Before(deadline) {
		sendRaw(t, ha, la.Name, frame, 1)
		time.Sleep(100 * time.Millisecond)
	}
	took := time.Since(start)
	if l.WatchdogReopens() != 1 {
		t.Fatalf("WatchdogReopens = %d 15 s after the capture got stuck, want 1", l.WatchdogReopens())
	}
	t.Logf("stuck capture reopened after %v (stallAfter %v)", took.Round(time.Millisecond), l.stallAfter)
	// The stall is seen on the first wakeup that brings nothing, which
	// the kernel's block timeout paces.
	if took > l.stallAfter+blockTimeout+2*time.Second {
		t.Errorf("reopened after %v, want within about stallAfter (%v) plus a block timeout (%v)", took, l.stallAfter, blockTimeout)
	}
	logs.wait("capture watchdog: capture stuck, reopening")

	// Recording again on the new handle.
	sendRaw(t, ha, la.Name, frame, 5)
	if n := countARPFrom(collect(t, out, blockTimeout+2*time.Second, func(f []Frame) bool { return countARPFrom(f, la.MAC) >= 5 }), la.MAC); n < 5 {
		t.Errorf("after the watchdog reopened: %d of 5 frames delivered", n)
	}
	if err, _ := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if st := l.Stats(); st.Reopens != 1 || opens.Load() != 2 {
		t.Errorf("Reopens = %d, opens = %d; want 1 and 2", st.Reopens, opens.Load())
	}
}

// TestReopenOnLinkEvent: a deleted interface that comes back is reopened
// at once (on the netlink event), not on the next step of the backoff, and
// the time without capture is counted in Gap.
func TestReopenOnLinkEvent(t *testing.T) {
	nstest.RequireRoot(t)
	ha, hb := nstest.NewHost(t, "la"), nstest.NewHost(t, "lb")
	la, lb := nstest.Veth(t, ha, "", hb, "")
	logs := newLogWatch(t)
	logs.quiet = true
	var backAt atomic.Int64
	l := NewLive(LiveConfig{Iface: lb.Name}, slog.New(&stampHandler{Handler: logs, msg: "capture: interface back, capturing again", at: &backAt}))
	_, stop := liveRun(t, hb, l, 16)
	logs.wait("capture: started")
	// Gone for 1.9 to 3.3 s: the backoff (0.1 s doubling to 1 s) would
	// try again up to a second after the interface is up.
	var worst, gone time.Duration
	for i, away := range []time.Duration{2700 * time.Millisecond, 1900 * time.Millisecond, 3300 * time.Millisecond} {
		backAt.Store(0)
		hb.MustRun("ip", "link", "del", lb.Name)
		delAt := time.Now()
		time.Sleep(away)
		hb.MustRun("ip", "link", "add", lb.Name, "type", "veth", "peer", "name", la.Name, "netns", ha.NS)
		ha.MustRun("ip", "link", "set", la.Name, "up")
		upAt := time.Now()
		hb.MustRun("ip", "link", "set", lb.Name, "up")
		deadline := time.Now().Add(5 * time.Second)
		for backAt.Load() == 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if backAt.Load() == 0 {
			t.Fatalf("round %d: capture not back 5 s after link-up", i+1)
		}
		late := time.Unix(0, backAt.Load()).Sub(upAt)
		gone += time.Unix(0, backAt.Load()).Sub(delAt)
		worst = max(worst, late)
		t.Logf("round %d: gone %v, capturing again %v after link-up", i+1, away, late.Round(time.Millisecond))
	}
	if worst > 300*time.Millisecond {
		t.Errorf("capture came back up to %v after link-up; want it on the link event (well under the 1 s backoff step)", worst)
	}
	if err, _ := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if g := l.Gap(); g < gone-500*time.Millisecond || g > gone+time.Second {
		t.Errorf("Gap = %v, want about the %v the interface was gone", g, gone.Round(time.Millisecond))
	}
	if st := l.Stats(); st.Reopens != 3 {
		t.Errorf("Reopens = %d, want 3", st.Reopens)
	}
}

// TestLinkDownKeepsCapture: a link that goes down and up (same interface)
// keeps its capture socket: frames sent right after link-up are recorded
// with no reopen and no gap.
func TestLinkDownKeepsCapture(t *testing.T) {
	nstest.RequireRoot(t)
	ha, hb := nstest.NewHost(t, "ka"), nstest.NewHost(t, "kb")
	la, lb := nstest.Veth(t, ha, "", hb, "")
	logs := newLogWatch(t)
	logs.quiet = true
	l := NewLive(LiveConfig{Iface: lb.Name}, slog.New(logs))
	out, stop := liveRun(t, hb, l, 64)
	logs.wait("capture: started")
	frame := arpFrame()
	copy(frame[6:12], la.MAC)
	hb.MustRun("ip", "link", "set", lb.Name, "down")
	logs.wait("capture: link down; the capture stays open and resumes on link-up")
	time.Sleep(500 * time.Millisecond)
	hb.MustRun("ip", "link", "set", lb.Name, "up")
	sendRaw(t, ha, la.Name, frame, 10) // at once after link-up
	if n := countARPFrom(collect(t, out, blockTimeout+2*time.Second, func(f []Frame) bool { return countARPFrom(f, la.MAC) >= 10 }), la.MAC); n != 10 {
		t.Errorf("%d of the 10 frames sent right after link-up were delivered", n)
	}
	if err, _ := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if st := l.Stats(); st.Reopens != 0 || l.LinkDowns() != 1 || l.Gap() != 0 {
		t.Errorf("Reopens %d, LinkDowns %d, Gap %v; want 0, 1, 0", st.Reopens, l.LinkDowns(), l.Gap())
	}
}

// stampHandler notes when msg is logged.
type stampHandler struct {
	slog.Handler
	msg string
	at  *atomic.Int64
}

func (h *stampHandler) Handle(ctx context.Context, r slog.Record) error {
	if strings.HasPrefix(r.Message, h.msg) {
		h.at.CompareAndSwap(0, time.Now().UnixNano())
	}
	return h.Handler.Handle(ctx, r)
}

func (h *stampHandler) WithAttrs(a []slog.Attr) slog.Handler {
	return &stampHandler{Handler: h.Handler.WithAttrs(a), msg: h.msg, at: h.at}
}

// TestSetCapture: a new filter is attached to the open capture (no
// reopen: an NDP frame, refused before, is delivered after); a new
// buffer size reopens it; the interface cannot change.
func TestSetCapture(t *testing.T) {
	nstest.RequireRoot(t)
	ha, hb := nstest.NewHost(t, "sa"), nstest.NewHost(t, "sb")
	la, lb := nstest.Veth(t, ha, "", hb, "")
	logs := newLogWatch(t)
	logs.quiet = true
	cfg := LiveConfig{Iface: lb.Name, Index: 3}
	l := NewLive(cfg, slog.New(logs))
	out, stop := liveRun(t, hb, l, 64)
	logs.wait("capture: started")
	ndp := ether(0x86dd, ipv6Payload(58, 135))
	copy(ndp[6:12], la.MAC)
	isNDP := func(f []Frame) int {
		n := 0
		for _, fr := range f {
			if etherTypeOf(fr.Data) == 0x86dd {
				n++
			}
		}
		return n
	}
	sendRaw(t, ha, la.Name, ndp, 3)
	if n := isNDP(collect(t, out, blockTimeout+time.Second, func(f []Frame) bool { return isNDP(f) > 0 })); n != 0 {
		t.Fatalf("the arp filter let %d NDP frames through", n)
	}
	both, err := ParseFilter("arp+ndp")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Filter = both
	if err := l.SetCapture(cfg); err != nil {
		t.Fatal(err)
	}
	logs.wait("capture: new filter attached to the open capture")
	sendRaw(t, ha, la.Name, ndp, 3)
	if n := isNDP(collect(t, out, blockTimeout+2*time.Second, func(f []Frame) bool { return isNDP(f) >= 3 })); n != 3 {
		t.Errorf("after arp+ndp was attached: %d of 3 NDP frames delivered", n)
	}

	cfg.BufferBytes = 1 << 20
	if err := l.SetCapture(cfg); err != nil {
		t.Fatal(err)
	}
	logs.wait("capture: reopened with the new settings")
	frame := arpFrame()
	copy(frame[6:12], la.MAC)
	sendRaw(t, ha, la.Name, frame, 3)
	if n := countARPFrom(collect(t, out, blockTimeout+2*time.Second, func(f []Frame) bool { return countARPFrom(f, la.MAC) >= 3 }), la.MAC); n != 3 {
		t.Errorf("after the reopen: %d of 3 ARP frames delivered", n)
	}
	if err := l.SetCapture(LiveConfig{Iface: la.Name, Index: 3}); err == nil {
		t.Error("SetCapture moved the capture to another interface")
	}
	if err, _ := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if st := l.Stats(); st.Reopens != 0 {
		t.Errorf("Reopens = %d: a settings change is no lost interface", st.Reopens)
	}
}
