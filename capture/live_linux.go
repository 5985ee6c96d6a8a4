package capture

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Run captures until ctx is cancelled, sending batches to out, and then
// returns nil. It opens the socket on the calling goroutine (so in that
// thread's network namespace) and reads and closes it there; it starts no
// goroutines.
//
// When the interface goes down, is deleted, or does not exist yet, Run logs
// it, waits (100 ms doubling to 1 s) and opens the interface again by name,
// so a recreated interface with a new index is picked up; the gap is logged
// when capture resumes and counted in Stats.Reopens. Run returns an error
// only for what reopening cannot fix: an invalid config, a filter the kernel
// rejects, no permission for AF_PACKET.
//
// A batch is sent when it is full, when no more frames are waiting in the
// ring (then marked Drained), or when its first frame is 100 ms old; the
// kernel retires a partly filled ring block after a second
// (blockTimeoutMS), so a lone frame reaches out within about a second. If
// out is full Run waits, the ring fills and the kernel counts drops
// (Stats.Dropped). Cancelling ctx wakes Run at once.
//
// Run waits in the Go netpoller, not in poll(2): an idle capture wakes only
// when the kernel hands over a block of frames (once a second while ARP
// trickles in), once at the end of a burst to read the kernel counters,
// and once a minute.
func (l *Live) Run(ctx context.Context, out chan<- *Batch) error {
	emit := func(b *Batch) bool {
		select {
		case out <- b:
			return true
		default:
		}
		select {
		case out <- b:
			return true
		case <-ctx.Done():
			b.Release()
			return false
		}
	}
	// The last frames, after ctx is cancelled: a consumer that drains
	// until the sources stop takes them; give up after a second if not.
	final := func(b *Batch) bool {
		t := time.NewTimer(time.Second)
		defer t.Stop()
		select {
		case out <- b:
			return true
		case <-t.C:
			b.Release()
			return false
		}
	}
	return l.run(ctx, emit, final)
}

// RunFunc is Run handing each batch to deliver on the capture goroutine
// itself, instead of to a channel: no goroutine handoff per batch, which is
// most of the cost of sparse traffic and a quarter of a storm's. deliver
// must Release the batch (soon: the source has a bounded pool).
func (l *Live) RunFunc(ctx context.Context, deliver func(*Batch)) error {
	emit := func(b *Batch) bool {
		deliver(b)
		return true
	}
	return l.run(ctx, emit, emit)
}

func (l *Live) run(ctx context.Context, emit, final func(*Batch) bool) error {
	cfg := l.cfg
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("capture %s: %w", cfg.Iface, err)
	}
	fl := &filler{pool: newBatchPool(batchBytes, ctx.Done()), iface: cfg.Index, snap: cfg.SnapLen, match: cfg.Filter}
	defer fl.drop()

	var (
		lostAt  time.Time // when the interface was lost (or first found missing)
		lastErr string
		opened  bool
		backoff = minBackoff
	)
	for {
		s, err := openSocket(cfg)
		if err != nil {
			if fatal := (errFatal{}); errors.As(err, &fatal) {
				return err
			}
			if lostAt.IsZero() {
				lostAt = time.Now()
			}
			if msg := err.Error(); msg != lastErr {
				l.log.Warn("capture: interface unavailable, retrying", "err", err)
				lastErr = msg
			}
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
			backoff = min(backoff*2, maxBackoff)
			continue
		}
		switch {
		case opened:
			l.reopens.Add(1)
			l.log.Info("capture: interface back, capturing again",
				"gap", time.Since(lostAt).Round(time.Millisecond), "ifindex", s.ifindex)
		case !lostAt.IsZero():
			l.log.Info("capture: interface appeared, capturing",
				"waited", time.Since(lostAt).Round(time.Millisecond), "ifindex", s.ifindex, "filter", cfg.Filter.Name)
		default:
			l.log.Info("capture: started", "ifindex", s.ifindex, "filter", cfg.Filter.Name,
				"snaplen", cfg.SnapLen, "buffer_bytes", s.nblocks*blockSize, "promiscuous", cfg.Promiscuous)
		}
		opened, lostAt, lastErr, backoff = true, time.Time{}, "", minBackoff

		stopInterrupt := context.AfterFunc(ctx, s.interrupt)
		err = l.read(ctx, s, fl, emit)
		stopInterrupt()
		if ctx.Err() != nil {
			// The last frames: those in the block the kernel is still
			// filling, then the batch in hand.
			l.drainAtClose(s, fl, final)
			if b := fl.cur; b != nil && len(b.Frames) > 0 {
				fl.cur = nil
				b.Drained = true
				final(b)
			}
			l.sample(s)
			s.close()
			return nil
		}
		// The link went down or away: the kernel still retires the block
		// it was filling, and those frames (the last second before the
		// loss, often the interesting one) are kept.
		lostAt = time.Now()
		l.drainAtClose(s, fl, emit)
		handed := fl.flush(emit, true)
		l.sample(s)
		s.close()
		if !handed { // cancelled meanwhile, with nobody taking batches
			return nil
		}
		l.log.Warn("capture: link lost, reopening", "err", err)
	}
}

// The kernel counters (they change only when frames arrive) are read at
// most every statsEvery while blocks keep coming, and when the ring runs
// dry if the last read is half that old: trickling ARP, one block a
// second, gets them read on its own wakeup. Only the end of a burst that
// was read less than that ago costs a wakeup of its own, statsLinger
// after the last read. idleWake bounds any wait anyway.
const (
	statsEvery  = time.Second
	statsLinger = 9 * time.Second
	idleWake    = time.Minute
)

// read copies frames from the ring into batches until ctx is cancelled
// (nil) or the socket reports an error (wrapping ErrLinkDown).
func (l *Live) read(ctx context.Context, s *tpSocket, fl *filler, emit func(*Batch) bool) error {
	lastStats := time.Now()
	dirty := false // frames arrived since the counters were last read
	for {
		for {
			blk, ready := s.block()
			if !ready {
				break
			}
			ok := fl.fillBlock(blk, emit)
			s.release()
			dirty = true
			if !ok || ctx.Err() != nil {
				return nil
			}
			now := time.Now()
			if fl.age(now) >= maxBatchAge {
				_, more := s.block()
				if !fl.flush(emit, !more) {
					return nil
				}
			}
			if now.Sub(lastStats) >= statsEvery {
				l.sample(s)
				lastStats, dirty = now, false
			}
		}
		// Nothing more in the ring: hand on what we have before waiting.
		if !fl.flush(emit, true) {
			return nil
		}
		now := time.Now()
		if dirty && now.Sub(lastStats) >= statsEvery/2 {
			l.sample(s)
			lastStats, dirty = now, false
		}
		deadline := now.Add(idleWake)
		if dirty {
			deadline = lastStats.Add(statsLinger)
		}
		// Wake for the next block, the counters, or cancellation (ctx's
		// AfterFunc interrupts the wait).
		if err := s.wait(ctx, deadline); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// drainAtClose waits, once, for the kernel to hand over the block it is
// filling (it does so blockTimeoutMS after the block's first frame, also
// after the link went down), so that stopping or losing the link does not
// throw away the last second of frames. It returns at once when that block
// holds no frame.
func (l *Live) drainAtClose(s *tpSocket, fl *filler, emit func(*Batch) bool) {
	s.deadline = time.Time{} // the read loop's deadline is later than ours, or interrupt made it past
	deadline := time.Now().Add(blockTimeoutMS*time.Millisecond + 100*time.Millisecond)
	for {
		blk, ready := s.block()
		if ready {
			ok := fl.fillBlock(blk, emit)
			s.release()
			if !ok {
				return
			}
			continue
		}
		if s.pending() == 0 || !time.Now().Before(deadline) {
			return
		}
		if err := s.wait(context.Background(), deadline); err != nil {
			return
		}
	}
}

// sample adds the kernel counters (reset by each read) to the totals.
func (l *Live) sample(s *tpSocket) {
	packets, drops, err := s.stats()
	if err != nil {
		l.log.Debug("capture: reading kernel counters", "err", err)
		return
	}
	l.received.Add(uint64(packets))
	l.dropped.Add(uint64(drops))
}
