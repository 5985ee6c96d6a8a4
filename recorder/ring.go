package recorder

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arpbox/arpbox/capture"
	"github.com/arpbox/arpbox/ring"
)

// ringOwner serialises the ring's users: each capture goroutine writes its
// batches itself (no handoff to another goroutine: that was most of the CPU
// of sparse ARP and a quarter of a storm's), the snapshotter flushes, and
// tend does the timed work and closes it.
type ringOwner struct {
	log     *slog.Logger
	w       *ring.Writer
	observe func(capture.Frame) // sees every frame before it is written; may be nil
	// ifaces maps a batch's Iface (a capture slot's id, never reused in a
	// run) to the ring's interface index, and holds what write handed to
	// the ring per slot (added per batch: the storm path writes a million
	// frames a second). Replaced under mu when a reload changes the
	// interfaces (reload.go); read without mu by counts.
	ifaces atomic.Pointer[ifaceMap]

	mu       sync.Mutex
	tendAt   time.Time     // when tend next wakes to tick the ring; guarded by mu
	poke     chan struct{} // a writer made the ring's next tick earlier than tendAt
	badWrite atomic.Bool
}

// ifaceCount is what was recorded from one interface.
type ifaceCount struct {
	frames, bytes atomic.Uint64
}

func newRingOwner(log *slog.Logger, w *ring.Writer, ifaces int, observe func(capture.Frame)) *ringOwner {
	o := &ringOwner{log: log, w: w, observe: observe, poke: make(chan struct{}, 1)}
	o.ifaces.Store(newIfaceMap(ifaces))
	return o
}

// counts returns the frames and bytes (as captured) recorded from
// interface i.
func (o *ringOwner) counts(i int) (frames, bytes uint64) {
	c := o.ifaces.Load().count(i)
	if c == nil {
		return 0, 0
	}
	return c.frames.Load(), c.bytes.Load()
}

// write records a batch and releases it. After a drained batch (the source
// is about to sleep) the ring writes to the file at once, so trickling ARP
// costs one wakeup per kernel block and no timer of ours; the ring's timed
// work is done here when due, or by tend when no batch comes.
func (o *ringOwner) write(b *capture.Batch) {
	if o.observe != nil {
		for _, f := range b.Frames {
			o.observe(f)
		}
	}
	o.mu.Lock()
	idx, c := o.ifaces.Load().lookup(b.Iface)
	var n, size uint64
	for _, f := range b.Frames {
		// Disk errors are the ring's to log, count and survive; an error
		// here is a bug (an interface the ring doesn't know).
		if err := o.w.WritePacket(idx, f.Time, f.Length, f.Data); err != nil {
			if !o.badWrite.Swap(true) {
				o.log.Error("recording a frame failed (logged once)", "iface", b.Iface, "err", err)
			}
			break
		}
		n++
		size += uint64(len(f.Data))
	}
	if c != nil && n > 0 {
		c.frames.Add(n)
		c.bytes.Add(size)
	}
	now := time.Now()
	if b.Drained {
		o.w.Drained(now)
	}
	due := o.w.NextTick(now)
	if !due.IsZero() && !now.Before(due) {
		o.tickLocked(now)
		due = o.w.NextTick(now)
	}
	sooner := o.beforeTendLocked(due)
	o.mu.Unlock()
	b.Release()
	if sooner {
		o.pokeTend()
	}
}

// soonerLocked reports whether the ring's timed work is now due before
// tend's timer (writing made it so); the caller holds mu and, when it is,
// pokes tend after unlocking.
func (o *ringOwner) soonerLocked(now time.Time) bool {
	return o.beforeTendLocked(o.w.NextTick(now))
}

// beforeTendLocked reports whether due, the ring's next tick, comes before
// tend's timer; the caller holds mu.
func (o *ringOwner) beforeTendLocked(due time.Time) bool {
	return !due.IsZero() && due.Before(o.tendAt)
}

func (o *ringOwner) pokeTend() {
	select {
	case o.poke <- struct{}{}:
	default: // tend has a poke waiting already
	}
}

func (o *ringOwner) tickLocked(now time.Time) {
	if err := o.w.Tick(now); err != nil {
		o.log.Warn("ring", "err", err)
	}
}

// tend does the ring's timed work when no batch does it (it sleeps until
// the ring's next tick, which is seconds away while ARP trickles in and
// drained batches keep the file flushed), and closes the ring once
// captured is closed, so the last frames land in the sealed segment.
func (o *ringOwner) tend(captured <-chan struct{}) error {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	// arm sets the timer for the ring's next tick; the caller holds mu.
	arm := func(now time.Time) {
		next := o.w.NextTick(now)
		if next.IsZero() { // not open; nothing to do but wait for captured
			next = now.Add(time.Hour)
		}
		o.tendAt = next
		timer.Reset(next.Sub(now))
	}
	o.mu.Lock()
	arm(time.Now())
	o.mu.Unlock()
	for {
		select {
		case <-timer.C:
			o.mu.Lock()
			now := time.Now()
			if due := o.w.NextTick(now); !due.IsZero() && !now.Before(due) {
				o.tickLocked(now)
			}
			arm(now)
			o.mu.Unlock()
		case <-o.poke:
			o.mu.Lock()
			arm(time.Now())
			o.mu.Unlock()
		case <-captured:
			o.mu.Lock()
			defer o.mu.Unlock()
			return o.w.Close()
		}
	}
}

// flush writes frames buffered in the ring to its file (for the
// snapshotter, before it reads the current segment).
func (o *ringOwner) flush() error {
	o.mu.Lock()
	err := o.w.Flush()
	sooner := o.soonerLocked(time.Now()) // a failed write asks for a retry
	o.mu.Unlock()
	if sooner {
		o.pokeTend()
	}
	return err
}

// alive reports whether the ring's lock can be taken within d: a writer
// stuck in a write (a hung disk, a dead NFS server) holds it for ever.
func (o *ringOwner) alive(d time.Duration) error {
	deadline := time.Now().Add(d)
	for !o.mu.TryLock() {
		if time.Now().After(deadline) {
			return fmt.Errorf("the ring writer has held its lock for over %v (a write that does not return?)", d)
		}
		time.Sleep(10 * time.Millisecond)
	}
	o.mu.Unlock()
	return nil
}
