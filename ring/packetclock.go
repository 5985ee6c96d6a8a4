package ring

import "time"

// The packet clock. A Writer recording a capture file (Options.PacketClock
// set: arpbox run -replay) keeps the wall clock for the work that is about
// the disk (flushes, retries, retention) but takes everything a segment
// says about time from the packets, so a replayed ring looks like the one
// recorded live would have: segments are named from the packet clock when
// they start to the packet clock when they are sealed (the latest packet
// written, or the file's first packet before any; at most SegmentAge after
// the start), are rotated when a packet is SegmentAge newer than the
// segment's start, never by the wall clock, and their statistics blocks
// are stamped on the packet clock. How
// fast the file is read changes nothing.

// packetClock reports whether the Writer is on the packet clock.
func (w *Writer) packetClock() bool { return !w.opts.PacketClock.IsZero() }

// nameTime is the time a segment started or sealed at wall time now is
// named with.
func (w *Writer) nameTime(now time.Time) time.Time {
	if !w.packetClock() {
		return now
	}
	if w.pnow.IsZero() {
		return w.opts.PacketClock
	}
	return w.pnow
}

// advanceClock moves the packet clock to a packet's timestamp (never back).
func (w *Writer) advanceClock(ts time.Time) {
	if w.packetClock() && ts.After(w.pnow) {
		w.pnow = ts
	}
}

// packetAged reports whether, on the packet clock, the current segment
// must be rotated before a packet stamped ts.
func (w *Writer) packetAged(ts time.Time) bool {
	return w.packetClock() && w.cur.packets > 0 && ts.Sub(w.cur.named) >= w.cfg.SegmentAge
}

// sealTime is the end a segment sealed at wall time now is named with. On
// the packet clock: the packet clock, but no later than the segment's
// start plus SegmentAge (a segment rotated by age after a silence ends
// when its age was reached, as it would have live).
func (w *Writer) sealTime(s *segment, now time.Time) time.Time {
	if !w.packetClock() {
		return now
	}
	t := w.nameTime(now)
	if s != nil {
		if limit := s.named.Add(w.cfg.SegmentAge); t.After(limit) {
			t = limit
		}
	}
	return t
}

// statsTimes are the isb_starttime and the time of a statistics block
// written at wall time now into the current segment.
func (w *Writer) statsTimes(now time.Time) (start, at time.Time) {
	if w.packetClock() {
		return w.opts.PacketClock, w.sealTime(w.cur, now)
	}
	return w.openedAt, now
}
