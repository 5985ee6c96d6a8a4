package ring

import (
	"time"

	"github.com/arpbox/arpbox/internal/pcapng"
)

// The statistics blocks of a segment. Every sealed segment ends with one
// block per interface (appendStats), and Flush, which the snapshotter calls
// once its window has passed, writes one per interface into the current
// segment (checkpoint), so the counters a bundle takes reach past its last
// packet. Each block says, in isb_starttime and isb_endtime, the span its
// counters cover: from when the Writer opened (arpbox's start: the capture
// counters are cumulative since then) to the block's time.
//
// isb_ifrecv is the capture's count of frames that passed the kernel
// filter, dropped ones included. The capture reads the kernel's counters
// about once a second, so at a given moment the count can lag the frames
// already written; it is raised to the frames written since the Writer
// opened plus the drops, which the kernel certainly received, so that a
// block never counts fewer frames than the file holds. Without
// Options.Stats (replay: a file's frames have no kernel counters) the
// blocks carry the times only; on the packet clock (see packetclock.go)
// they span from the file's first packet to the latest written.

// stats returns the statistics block of interface i as of now.
func (w *Writer) stats(i int, now time.Time) pcapng.Stats {
	start, at := w.statsTimes(now) // the counters run since start, not since the segment began
	st := pcapng.Stats{
		Interface: i,
		Timestamp: at.UnixNano(),
		StartTime: start.UnixNano(),
		EndTime:   at.UnixNano(),
		Has:       sealStats,
	}
	if w.opts.Stats != nil {
		st.Received, st.Dropped = w.opts.Stats(i)
		if floor := w.ifWritten[i] + st.Dropped; st.Received < floor {
			st.Received = floor
		}
		st.Has |= pcapng.HasReceived | pcapng.HasDropped
	}
	return st
}

// appendStats appends one statistics block per interface to the buffer.
func (w *Writer) appendStats(now time.Time) error {
	for i := range w.ifaces {
		st := w.stats(i, now)
		if err := w.room(st.StatsLen()); err != nil {
			return err
		}
		w.buf = pcapng.AppendStats(w.buf, st)
	}
	return nil
}

// checkpoint appends the counters as of now to the current segment, if it
// has the room (the seal's blocks stay reserved) and there are counters.
// A failed write is left to the flush that follows.
func (w *Writer) checkpoint(now time.Time) {
	if w.opts.Stats == nil || w.cur == nil {
		return
	}
	if w.curSize()+2*w.reserve > w.cfg.SegmentBytes {
		return
	}
	for i := range w.ifaces {
		st := w.stats(i, now)
		if len(w.buf)+st.StatsLen() > cap(w.buf) {
			return
		}
		w.buf = pcapng.AppendStats(w.buf, st)
	}
}
