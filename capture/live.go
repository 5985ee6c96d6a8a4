package capture

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arpbox/arpbox/internal/backoff"
)

// Live capture defaults and limits.
const (
	// DefaultSnapLen is the snaplen when LiveConfig.SnapLen is 0 (tcpdump's).
	DefaultSnapLen = 262144
	// DefaultBufferBytes is the kernel ring size when LiveConfig.BufferBytes
	// is 0: 8 MiB holds about 58,000 ARP frames, about 0.1 s of a
	// 600k frames/s storm (tcpdump's default is 2 MiB).
	DefaultBufferBytes = 8 << 20

	minSnapLen     = 64
	minBufferBytes = 256 << 10
	maxBufferBytes = 1 << 30
)

// LiveConfig configures a live capture on one interface.
type LiveConfig struct {
	Iface       string // interface name
	Index       int    // Batch.Iface: the interface's index in the configured list
	Filter      Filter // zero Filter: the "arp" filter
	SnapLen     int    // bytes kept per frame; 0: DefaultSnapLen
	Promiscuous bool
	BufferBytes int // kernel ring size; 0: DefaultBufferBytes
}

// Validate checks cfg; messages start with the YAML key.
func (c LiveConfig) Validate() error {
	switch {
	case c.Iface == "":
		return fmt.Errorf("interfaces: empty interface name")
	case checkIfaceName(c.Iface) != nil:
		return checkIfaceName(c.Iface)
	case c.SnapLen != 0 && (c.SnapLen < minSnapLen || c.SnapLen > DefaultSnapLen):
		return fmt.Errorf("snaplen: %d is outside %d..%d", c.SnapLen, minSnapLen, DefaultSnapLen)
	case c.BufferBytes != 0 && (c.BufferBytes < minBufferBytes || c.BufferBytes > maxBufferBytes):
		return fmt.Errorf("buffer_size: %d bytes is outside 256KiB..1GiB", c.BufferBytes)
	case c.Index < 0:
		return fmt.Errorf("interfaces: negative index %d", c.Index)
	}
	return nil
}

func (c LiveConfig) withDefaults() LiveConfig {
	if c.Filter.Name == "" {
		c.Filter = builtin(kindARP)
	}
	if c.SnapLen == 0 {
		c.SnapLen = DefaultSnapLen
	}
	if c.BufferBytes == 0 {
		c.BufferBytes = DefaultBufferBytes
	}
	return c
}

// blockTimeout is how long the OS may hold a partly filled buffer
// (TPACKET_V3: the block's retire timeout) before handing it over, so a
// lone frame reaches user space within about this long; frames closer
// together than this share a wakeup. Sparse ARP (a few frames a second, the
// normal case on a gateway) then costs one wakeup per blockTimeout instead
// of one per frame, and wakeups are what idle CPU is made of: on the 2-core
// VMs arpbox is measured on, a wakeup that writes to the ring costs the Go
// runtime about 0.4 ms (its netpoller thread, and sysmon, which any system
// call wakes), so at 1 s, libpcap's and tcpdump's value, 10 ARP/s cost
// 3.8 ms of CPU per 10 s, at 3 s 1.7–1.8 ms (scripts/bench-storm.sh -idle).
// The price is latency nobody reads live: a frame reaches the ring file up
// to 3 s after it arrived (a crash of the process loses at most that much),
// a stop or a link loss waits up to 3 s for the last block (drainAtClose),
// and a bundle waits that long past its after-window (MaxHold). A busy link
// fills blocks long before the timeout, so none of this applies under load.
const blockTimeout = 3 * time.Second

// MaxHold is the longest the OS may hold a captured frame before a live
// source hands it over: who needs every frame up to a moment (a bundle's
// after-window) waits this long past it.
const MaxHold = blockTimeout

// Reopen backoff after the interface went away: 100 ms, doubling up to 1 s.
// The cap is short because the frames right after a link comes back
// (gratuitous ARP, the first resolutions) are the ones worth keeping, and
// one failed attempt costs two syscalls.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = time.Second
)

// handle is one open capture on one interface: the per-OS part of Live
// (TPACKET_V3 on Linux). The portable loop in Live.Run owns it: every
// method but interrupt is called from Run's goroutine only.
//
// A handle hands frames over in units: a TPACKET_V3 ring block, or what one
// read of a pcap-style driver returns (then ready peeks one frame ahead).
type handle interface {
	// ready reports whether a unit of frames can be read without waiting.
	ready() bool
	// next copies the frames of the ready unit into fl (fl.add, or
	// fl.fillBlock for TPACKET_V3 blocks) and gives the unit back to the
	// OS. It returns false when emit refused a batch: the source stops.
	next(fl *filler, emit func(*Batch) bool) bool
	// wait blocks until a unit is ready, deadline passes, or interrupt is
	// called; ctx is the context whose AfterFunc calls interrupt, checked
	// after arming the wait so an interrupt that came first is not lost.
	// It returns an error wrapping ErrLinkDown when the interface went
	// down or away, nil otherwise (also on the deadline).
	wait(ctx context.Context, deadline time.Time) error
	// pending reports whether the OS holds frames it has not made ready
	// yet (TPACKET_V3: in the block it is filling), which a wait until
	// blockTimeout would bring.
	pending() bool
	// stats returns the frames received (passed the filter) and dropped
	// since the last call.
	stats() (received, dropped uint64, err error)
	// interrupt makes a pending or later wait return now; safe from any
	// goroutine, also during or after close.
	interrupt()
	// close releases the handle; interrupt may still be called afterwards.
	close()
	// setFilter replaces the filter of the open handle (snaplen is part
	// of the program on Linux); an error means it must be reopened.
	setFilter(f Filter, snaplen int) error
	// countsFiltered reports whether stats' received counts only frames
	// that passed the filter (TPACKET_V3: yes; Npcap counts what the
	// adapter delivered, before the filter). Only then can the watchdog
	// compare it with the frames handed over.
	countsFiltered() bool
	// linkKept reports, after wait returned ErrLinkDown, whether the
	// handle stays good: the interface is only down, still there with the
	// same index, and the OS resumes the capture on link-up by itself
	// (Linux re-hooks a bound AF_PACKET socket on NETDEV_UP, as tcpdump
	// relies on). false: close it and open the interface again.
	linkKept() bool
	// ifindex is the OS index of the interface, and bufferBytes the size
	// of the OS buffer actually set up, for logs.
	ifindex() int
	bufferBytes() int
}

// A capture that has handed over no frame for stallAfter while the OS
// counters say it received some is stuck (a ring out of step with the
// kernel, a driver that stopped delivering): the watchdog reopens it. The
// kernel hands over a partly filled block within blockTimeout, so two of
// those is no false alarm.
const stallAfter = 2 * blockTimeout

// maxKeptDowns bounds how often one handle is kept across a link down
// (each one is a real link event: the OS reports it once).
const maxKeptDowns = 1 << 20

// errReconfigure is capture's error when new settings need a new handle.
var errReconfigure = errors.New("new capture settings")

// errStalled is read's error for a stuck capture (see stallAfter).
var errStalled = errors.New("the kernel counted frames but handed none over")

// linkWatcher tells Run about changes of an interface while it waits to
// reopen it (Linux: a netlink socket on the link group), so a link that
// comes back is reopened at once rather than on the next backoff step.
type linkWatcher interface {
	// wait returns true when the interface changed, false after d or when
	// ctx is done.
	wait(ctx context.Context, d time.Duration) bool
	close()
}

// Live captures frames from one network interface. Its Run owns the
// capture handle.
type Live struct {
	cfg LiveConfig
	log *slog.Logger
	// open opens the handle, watch the link watcher (nil: none on this
	// platform); tests replace them.
	open       func(LiveConfig) (handle, error)
	watch      func(iface string) (linkWatcher, error)
	stallAfter time.Duration

	received  atomic.Uint64
	dropped   atomic.Uint64
	reopens   atomic.Uint64
	watchdogs atomic.Uint64                      // reopens by the watchdog
	downs     atomic.Uint64                      // link downs the handle was kept across
	next      atomic.Pointer[LiveConfig]         // settings SetCapture asked for, not yet applied
	wake      atomic.Pointer[context.CancelFunc] // ends the current read for SetCapture
	gapNanos  atomic.Int64                       // time without capture after the first open, closed gaps
	lostAt    atomic.Int64                       // unix ns when the open gap began; 0: capturing (or never opened)

	up     chan struct{} // closed when the interface is first open
	upOnce sync.Once
}

// NewLive returns a live source for cfg; it opens nothing until Run.
// A nil log discards.
func NewLive(cfg LiveConfig, log *slog.Logger) *Live {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Live{cfg: cfg.withDefaults(), log: log.With("iface", cfg.Iface), up: make(chan struct{}),
		open: openHandle, watch: watchLink, stallAfter: stallAfter}
}

// WatchdogReopens counts the reopens of a capture the watchdog found stuck
// (the OS counted frames, none were handed over for stallAfter); they are
// in Stats.Reopens too. Safe from any goroutine.
func (l *Live) WatchdogReopens() uint64 { return l.watchdogs.Load() }

// LinkDowns counts the times the interface went down and its capture
// stayed open (the OS resumes it on link-up; no reopen, no gap). Safe from
// any goroutine.
func (l *Live) LinkDowns() uint64 { return l.downs.Load() }

// Gap returns how long the interface was not captured since it was first
// open (link down, deleted, reopening), the gap going on now included.
// Safe from any goroutine.
func (l *Live) Gap() time.Duration {
	g := time.Duration(l.gapNanos.Load())
	if at := l.lostAt.Load(); at != 0 {
		g += time.Since(time.Unix(0, at))
	}
	return g
}

// Up is closed once Run has the interface open and capturing for the first
// time (a missing interface is waited for); it stays closed after.
func (l *Live) Up() <-chan struct{} { return l.up }

// Stats returns the counters; safe to call from any goroutine. The OS
// counters are read about every second while frames arrive, and when the
// handle closes.
func (l *Live) Stats() Stats {
	return Stats{Received: l.received.Load(), Dropped: l.dropped.Load(), Reopens: l.reopens.Load()}
}

// Run captures until ctx is cancelled and then returns nil, calling
// deliver with each batch on the calling goroutine; deliver must Release
// it (soon: the source has a bounded pool). Run opens the interface on the
// calling goroutine (so on Linux in that thread's network namespace),
// reads and closes it there, and starts no goroutines.
//
// When the interface goes down and up again (same index), the capture
// stays open (Linux resumes it on link-up: nothing is lost to a reopen);
// it is logged and counted in LinkDowns. When the interface is deleted,
// does not exist yet, or the platform cannot keep a capture across a link
// down, Run logs it and opens the interface again by name as soon as the OS reports a
// change of it (Linux: a netlink link event), and otherwise every 100 ms
// doubling to 1 s, so a recreated interface with a new index is picked up;
// the gap is logged when capture resumes and counted in Stats.Reopens and
// Gap. A capture that stops handing over frames while the OS counters say
// it received some (stallAfter) is reopened the same way, logged and
// counted in WatchdogReopens. Run returns an error
// only for what reopening cannot fix: an invalid config, a filter the kernel
// rejects, no permission, no live capture on this platform (wrapping
// errors.ErrUnsupported).
//
// A batch is delivered when it is full, when no more frames are waiting
// (then marked Drained), or when its first frame is 100 ms old; the OS
// hands over a partly filled buffer after blockTimeout (MaxHold, 3 s), so
// a lone frame is delivered within about that long. While deliver has not
// released enough batches Run waits, the OS buffer fills and the OS counts
// drops (Stats.Dropped). Cancelling ctx wakes Run at once; the frames the
// OS still holds (up to blockTimeout old) are delivered before Run
// returns, and so are those in hand when the link is lost.
//
// An idle capture wakes only when the OS hands over frames (once per
// blockTimeout while ARP trickles in), once at the end of a burst to read
// the OS counters, and once a minute.
func (l *Live) Run(ctx context.Context, deliver func(*Batch)) error {
	cfg := l.cfg
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("capture %s: %w", cfg.Iface, err)
	}
	emit := func(b *Batch) bool {
		deliver(b)
		return true
	}
	fl := &filler{pool: newBatchPool(batchBytes, ctx.Done()), iface: cfg.Index, snap: cfg.SnapLen, match: cfg.Filter}
	defer fl.drop()

	var (
		lostAt  time.Time // when the interface was lost (or first found missing)
		lastErr string
		opened  bool
		retry   = backoff.New(minBackoff, maxBackoff)
		lw      linkWatcher // while waiting to reopen
	)
	defer func() {
		if lw != nil {
			lw.close()
		}
		if at := l.lostAt.Swap(0); at != 0 {
			l.gapNanos.Add(int64(time.Since(time.Unix(0, at))))
		}
	}()
	reconfigured := false // the handle was closed to apply new settings
	for {
		if n := l.next.Swap(nil); n != nil { // settings changed while closed
			cfg = *n
			fl.match, fl.snap = cfg.Filter, cfg.SnapLen
		}
		h, err := l.open(cfg)
		if err != nil {
			if !errors.Is(err, ErrLinkDown) {
				return err
			}
			if lostAt.IsZero() {
				lostAt = time.Now()
			}
			if msg := err.Error(); msg != lastErr {
				l.log.Warn("capture: interface unavailable, retrying", "err", err)
				lastErr = msg
			}
			if lw == nil {
				// Subscribed after a failed open: an event since then
				// is queued, and the open is tried once more first.
				if lw = l.watchLink(); lw != nil {
					continue
				}
			}
			if lw != nil {
				lw.wait(ctx, retry.Next())
				if ctx.Err() != nil {
					return nil
				}
			} else if retry.Wait(ctx) != nil {
				return nil
			}
			continue
		}
		if lw != nil {
			lw.close()
			lw = nil
		}
		if at := l.lostAt.Swap(0); at != 0 {
			l.gapNanos.Add(int64(time.Since(time.Unix(0, at))))
		}
		switch {
		case reconfigured:
			l.log.Info("capture: reopened with the new settings", "gap", time.Since(lostAt).Round(time.Millisecond),
				"filter", cfg.Filter.Name, "snaplen", cfg.SnapLen, "buffer_bytes", h.bufferBytes(), "promiscuous", cfg.Promiscuous)
		case opened:
			l.reopens.Add(1)
			l.log.Info("capture: interface back, capturing again",
				"gap", time.Since(lostAt).Round(time.Millisecond), "ifindex", h.ifindex())
		case !lostAt.IsZero():
			l.log.Info("capture: interface appeared, capturing",
				"waited", time.Since(lostAt).Round(time.Millisecond), "ifindex", h.ifindex(), "filter", cfg.Filter.Name)
		default:
			l.log.Info("capture: started", "ifindex", h.ifindex(), "filter", cfg.Filter.Name,
				"snaplen", cfg.SnapLen, "buffer_bytes", h.bufferBytes(), "promiscuous", cfg.Promiscuous)
		}
		opened, lostAt, lastErr, reconfigured = true, time.Time{}, "", false
		retry.Reset()
		l.upOnce.Do(func() { close(l.up) })

		err = l.capture(ctx, h, &cfg, fl, emit)
		if ctx.Err() != nil {
			// The last frames: those the OS still holds, then the batch
			// in hand.
			l.drainAtClose(h, fl, emit)
			fl.flush(emit, true)
			l.sample(h)
			h.close()
			return nil
		}
		// The link went down or away (or the capture is stuck, or new
		// settings need a new handle): the kernel still hands over the
		// frames it held, and those (the last second before the loss,
		// often the interesting one) are kept.
		lostAt = time.Now()
		l.lostAt.Store(lostAt.UnixNano())
		if errors.Is(err, errReconfigure) {
			reconfigured = true
			l.drainAtClose(h, fl, emit)
			fl.flush(emit, true)
			l.sample(h)
			h.close()
			fl.match, fl.snap = cfg.Filter, cfg.SnapLen
			continue
		}
		if !errors.Is(err, errStalled) && lw == nil {
			lw = l.watchLink() // before draining: a quick link-up is not missed
		}
		l.drainAtClose(h, fl, emit)
		fl.flush(emit, true)
		l.sample(h)
		h.close()
		if errors.Is(err, errStalled) {
			l.watchdogs.Add(1)
			l.log.Warn("capture watchdog: capture stuck, reopening", "err", err)
			continue
		}
		l.log.Warn("capture: link lost, reopening", "err", err)
	}
}

// capture reads from the open handle h until ctx is done (nil) or h must
// be closed: the link went away (an error wrapping ErrLinkDown), the
// watchdog found it stuck (errStalled), or new settings need a new handle
// (errReconfigure; *cfg then holds them). A link that only went down keeps
// the handle (bounded, should the OS report it again and again), and so do
// a new filter and snaplen, attached to it.
func (l *Live) capture(ctx context.Context, h handle, cfg *LiveConfig, fl *filler, emit func(*Batch) bool) error {
	for downs := 0; ; {
		// SetCapture cancels wctx: the wait ends as on ctx.
		wctx, wake := context.WithCancel(ctx)
		l.wake.Store(&wake)
		if l.next.Load() != nil {
			wake() // settings changed before wake was stored
		}
		stopInterrupt := context.AfterFunc(wctx, h.interrupt)
		err := l.read(wctx, h, fl, emit)
		stopInterrupt()
		changed := ctx.Err() == nil && wctx.Err() != nil
		l.wake.Store(nil)
		wake()
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, ErrLinkDown) && downs < maxKeptDowns && h.linkKept():
			// The socket stays open and resumes on link-up with no
			// frame lost to a reopen.
			downs++
			l.downs.Add(1)
			l.log.Warn("capture: link down; the capture stays open and resumes on link-up", "err", err)
		case err != nil:
			return err
		case !changed:
			return nil // the batch pool gave up: Run stops
		}
		if changed && !l.applyLive(h, cfg, fl) {
			return errReconfigure
		}
	}
}

// applyLive applies the settings SetCapture left in l.next to the open
// handle if it can (a new filter or snaplen: attached at once, no frame
// lost) and reports whether it did; otherwise *cfg gets them and the
// handle must be reopened.
func (l *Live) applyLive(h handle, cfg *LiveConfig, fl *filler) bool {
	n := l.next.Swap(nil)
	if n == nil {
		return true // applied already
	}
	if n.Promiscuous != cfg.Promiscuous || n.BufferBytes != cfg.BufferBytes {
		*cfg = *n
		l.log.Info("capture: reopening with the new settings", "promiscuous", n.Promiscuous, "buffer_bytes", n.BufferBytes)
		return false
	}
	if err := h.setFilter(n.Filter, n.SnapLen); err != nil {
		*cfg = *n
		l.log.Info("capture: reopening with the new filter", "filter", n.Filter.Name, "snaplen", n.SnapLen, "reason", err)
		return false
	}
	*cfg = *n
	fl.match, fl.snap = n.Filter, n.SnapLen
	l.log.Info("capture: new filter attached to the open capture", "filter", n.Filter.Name, "snaplen", n.SnapLen)
	return true
}

// SetCapture changes the settings of a running capture (a configuration
// reload): a new filter or snaplen is attached to the open capture
// (Linux: SO_ATTACH_FILTER swaps the socket's filter at once, no frame is
// lost); promiscuous mode or a buffer size, or a platform that cannot swap
// the filter, reopen it (frames the OS holds are delivered first). Iface
// and Index cannot change. Safe from any goroutine; Run applies it.
func (l *Live) SetCapture(c LiveConfig) error {
	if c.Iface != l.cfg.Iface || c.Index != l.cfg.Index {
		return fmt.Errorf("capture %s: the interface and index cannot change", l.cfg.Iface)
	}
	if err := c.Validate(); err != nil {
		return fmt.Errorf("capture %s: %w", c.Iface, err)
	}
	c = c.withDefaults()
	l.next.Store(&c)
	if w := l.wake.Load(); w != nil {
		(*w)()
	}
	return nil
}

// watchLink subscribes to changes of the interface; nil when the platform
// has no such events or the subscription failed (logged at debug: the
// backoff still reopens).
func (l *Live) watchLink() linkWatcher {
	if l.watch == nil {
		return nil
	}
	lw, err := l.watch(l.cfg.Iface)
	if err != nil {
		l.log.Debug("capture: no link events; reopening on the backoff timer", "err", err)
		return nil
	}
	return lw
}

// The OS counters (they change only when frames arrive) are read at most
// every statsEvery while a burst lasts (more than one unit was waiting, or
// one held burstFrames: the traffic that can fill the buffer and drop
// frames), when the buffer runs dry after a burst or on a wakeup that
// brought nothing if the last read is half that old, and while counted
// frames are awaited (the watchdog). Trickling ARP, one unit per blockTimeout, has them read every
// statsLinger on its own wakeups: a read is a system call, and on an idle
// host those are what its CPU time is made of. Only the end of a burst
// that was read less than statsLinger ago costs a wakeup of its own.
// idleWake bounds any wait anyway.
const (
	statsEvery  = time.Second
	statsLinger = 9 * time.Second
	idleWake    = time.Minute
	// statsEarly: a wakeup that brought frames this close to the
	// statsLinger deadline reads the counters then, rather than leave the
	// deadline a wakeup of its own a moment later (block timeouts divide
	// statsLinger, so trickling ARP lands just before it every time).
	statsEarly = time.Second
	// burstFrames is as many frames as make one unit a burst on its own:
	// a TPACKET_V3 block of ARP holds about 2,000 frames and fills up at
	// once in a burst, so a burst's frames can come one block per wakeup,
	// a block timeout apart; ARP trickling in brings a few dozen.
	burstFrames = 1000
)

// read copies frames from h into batches until ctx is cancelled (nil) or h
// reports an error (wrapping ErrLinkDown).
//
// The watchdog: the counters read while no frame was handed over since
// the read before tell of frames the OS received but did not hand over.
// Normally those are in the block the kernel is filling and come within
// blockTimeout; when none has come stallAfter after the first such read,
// read returns errStalled. Reads happen on the wakeups there are anyway
// (the deadline, the OS waking a waiter without a block for us), and at
// stallAfter once such frames were counted.
func (l *Live) read(ctx context.Context, h handle, fl *filler, emit func(*Batch) bool) error {
	lastStats := time.Now()
	dirty := false      // frames arrived since the counters were last read
	var unseen struct { // frames counted but not handed over
		n     uint64
		since time.Time // the read that first counted them
	}
	check := func(now time.Time) error {
		recv := l.sample(h)
		lastStats = now
		switch {
		case dirty:
			unseen.n, dirty = 0, false
		case recv > 0:
			if unseen.n == 0 {
				unseen.since = now
			}
			unseen.n += recv
		}
		if unseen.n > 0 && now.Sub(unseen.since) >= l.stallAfter && h.countsFiltered() {
			return fmt.Errorf("%w: %d frames in %v", errStalled, unseen.n, now.Sub(unseen.since).Round(time.Millisecond))
		}
		return nil
	}
	for {
		units := 0             // read on this wakeup
		frames := fl.delivered // and the frames they held, from here
		for h.ready() {
			ok := h.next(fl, emit)
			dirty = true
			units++
			if !ok || ctx.Err() != nil {
				return nil
			}
			now := time.Now()
			if fl.age(now) >= maxBatchAge && !fl.flush(emit, !h.ready()) {
				return nil
			}
			if units > 1 && now.Sub(lastStats) >= statsEvery {
				_ = check(now) // dirty: no stall
			}
		}
		// Nothing more ready: hand on what we have before waiting.
		if !fl.flush(emit, true) {
			return nil
		}
		now := time.Now()
		// Read the counters after a burst, on a wakeup that brought
		// nothing (the watchdog's evidence), while counted frames are
		// awaited, and now and then while frames trickle in.
		since := now.Sub(lastStats)
		burst := dirty && (units > 1 || fl.delivered-frames >= burstFrames)
		if (burst || units == 0 || unseen.n > 0) && since >= statsEvery/2 || since >= statsLinger-statsEarly {
			if err := check(now); err != nil {
				return err
			}
			burst = false
		}
		deadline := now.Add(idleWake)
		switch {
		case burst:
			// A burst that came right after a read: its counters (the
			// drops) are read once it is over, not a statsLinger later.
			deadline = lastStats.Add(statsEvery / 2)
		case dirty:
			deadline = lastStats.Add(statsLinger)
		case unseen.n > 0:
			deadline = unseen.since.Add(l.stallAfter)
		}
		// Wake for the next frames, the counters, or cancellation (ctx's
		// AfterFunc interrupts the wait).
		if err := h.wait(ctx, deadline); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// drainAtClose waits, once, for the OS to hand over the frames it holds
// (TPACKET_V3 retires the block it is filling blockTimeout after the
// block's first frame, also after the link went down), so that stopping or
// losing the link does not throw away the last second of frames. It
// returns at once when the OS holds no frame.
func (l *Live) drainAtClose(h handle, fl *filler, emit func(*Batch) bool) {
	deadline := time.Now().Add(blockTimeout + 100*time.Millisecond)
	for {
		if h.ready() {
			if !h.next(fl, emit) {
				return
			}
			continue
		}
		if !h.pending() || !time.Now().Before(deadline) {
			return
		}
		if err := h.wait(context.Background(), deadline); err != nil {
			return
		}
	}
}

// sample adds the OS counters read since the last sample to the totals and
// returns the frames received since then.
func (l *Live) sample(h handle) uint64 {
	received, dropped, err := h.stats()
	if err != nil {
		l.log.Debug("capture: reading kernel counters", "err", err)
		return 0
	}
	l.received.Add(received)
	l.dropped.Add(dropped)
	return received
}
