package ring

import (
	"fmt"
	"time"
)

// Frame order across interfaces. Each interface's capture hands its frames
// over in batches, in time order, but a batch waits in the kernel for up
// to a few seconds (the TPACKET_V3 block timeout), so two interfaces'
// batches reach the Writer that far out of step, and a segment written in
// arrival order shows Wireshark negative time deltas. A Writer of more
// than one interface with Options.Reorder therefore holds frames in a
// small reorder buffer, one queue per interface, and writes them in time
// order: the oldest held frame goes out once every other interface has
// delivered a frame at least as new (its queue is not empty, or its latest
// frame is newer), or once it is Options.Reorder old on the wall clock
// (the most a frame is late), or when the buffer is full. Flush, Rotate and Close write every held frame, so a
// reader that asked for a flush sees every frame delivered. The buffer is
// bounded (orderMaxFrames, orderMaxBytes); past it, or for a frame later
// than Options.Reorder, order is not guaranteed (counted in Stats.OutOfOrder).
// A single interface needs none of this, nor does a replayed file (one
// source, kept in its own order; see packetclock.go).

const (
	// The buffer's bounds: at storm rates the interfaces deliver
	// continuously and a few thousand frames are held; a quiet interface
	// next to a storm holds up to Options.Reorder of the storm, up to
	// these.
	orderMaxFrames = 64 << 10
	orderMaxBytes  = 8 << 20
	// orderPoolMax is the largest frame buffer kept for reuse (ARP frames
	// are far smaller; a rare jumbo frame is not worth keeping).
	orderPoolMax = 2 << 10
)

// heldFrame is one frame in the reorder buffer.
type heldFrame struct {
	ts      int64
	wireLen int
	data    []byte
}

// frameQueue is one interface's held frames, sorted by time (a push is an
// append but for the rare frame out of order within the interface).
type frameQueue struct {
	q    []heldFrame
	head int
}

func (q *frameQueue) len() int { return len(q.q) - q.head }

func (q *frameQueue) push(f heldFrame) {
	n := len(q.q)
	if n == q.head || f.ts >= q.q[n-1].ts {
		q.q = append(q.q, f)
		return
	}
	i := n - 1
	for i > q.head && f.ts < q.q[i-1].ts {
		i--
	}
	q.q = append(q.q, heldFrame{})
	copy(q.q[i+1:], q.q[i:n])
	q.q[i] = f
}

func (q *frameQueue) pop() heldFrame {
	f := q.q[q.head]
	q.q[q.head] = heldFrame{}
	q.head++
	if q.head == len(q.q) {
		q.q, q.head = q.q[:0], 0
	} else if q.head >= 1024 && q.head*2 >= len(q.q) {
		n := copy(q.q, q.q[q.head:])
		clear(q.q[n:])
		q.q, q.head = q.q[:n], 0
	}
	return f
}

// orderer is a Writer's reorder buffer.
type orderer struct {
	queues []frameQueue
	latest []int64 // newest frame time delivered per interface
	seen   []bool  // an interface has delivered a frame
	frames int
	bytes  int
	last   int64         // time of the last frame written
	free   [][]byte      // data buffers of written frames, for reuse
	wait   time.Duration // the longest a frame waits for the other interfaces (Options.Reorder)
}

func newOrderer(ifaces int, wait time.Duration) *orderer {
	return &orderer{queues: make([]frameQueue, ifaces), latest: make([]int64, ifaces), seen: make([]bool, ifaces), last: -1 << 63, wait: wait}
}

func (o *orderer) hold(iface int, ts int64, wireLen int, data []byte) {
	var buf []byte
	if n := len(o.free); n > 0 && cap(o.free[n-1]) >= len(data) {
		buf, o.free = o.free[n-1][:len(data)], o.free[:n-1]
	} else {
		buf = make([]byte, len(data), max(len(data), 128))
	}
	copy(buf, data)
	o.queues[iface].push(heldFrame{ts: ts, wireLen: wireLen, data: buf})
	if !o.seen[iface] || ts > o.latest[iface] {
		o.latest[iface], o.seen[iface] = ts, true
	}
	o.frames++
	o.bytes += len(data)
}

// oldest returns the interface whose head frame is the oldest held, or -1.
func (o *orderer) oldest() int {
	best := -1
	for i := range o.queues {
		q := &o.queues[i]
		if q.len() > 0 && (best < 0 || q.q[q.head].ts < o.queues[best].q[o.queues[best].head].ts) {
			best = i
		}
	}
	return best
}

// ready reports whether the oldest held frame, of interface i stamped ts,
// can be written: no other interface can still deliver an older one.
func (o *orderer) ready(i int, ts int64) bool {
	if o.frames > orderMaxFrames || o.bytes > orderMaxBytes {
		return true
	}
	for j := range o.queues {
		if j != i && o.queues[j].len() == 0 && (!o.seen[j] || o.latest[j] < ts) {
			return false
		}
	}
	return true
}

// due is when the oldest held frame has waited long enough; zero if none.
func (o *orderer) due() time.Time {
	i := o.oldest()
	if i < 0 {
		return time.Time{}
	}
	return time.Unix(0, o.queues[i].q[o.queues[i].head].ts).Add(o.wait)
}

// WritePacket appends one frame captured on interface iface (index into the
// interfaces given to NewWriter) to the current segment, rotating first if
// the segment would grow past SegmentBytes; with several interfaces, frames
// pass the reorder buffer first (see above). It does not allocate once
// warm. Disk errors are handled inside (see Writer) and not returned; the
// error is for misuse: a bad interface index or a Writer that is not open.
func (w *Writer) WritePacket(iface int, ts time.Time, wireLen int, data []byte) error {
	if w.ord == nil {
		return w.writePacket(iface, ts, wireLen, data)
	}
	if uint(iface) >= uint(len(w.ifaces)) {
		return fmt.Errorf("ring: write packet: interface index %d out of range (%d interfaces)", iface, len(w.ifaces))
	}
	if !w.opened || w.closed {
		return ErrClosed
	}
	w.ord.hold(iface, ts.UnixNano(), wireLen, data)
	w.release(time.Time{}, false)
	return nil
}

// release writes the held frames that are ready, in time order: by the
// other interfaces' progress, or, with a non-zero now, those o.wait old
// (or stamped more than o.wait ahead of now: a clock that stepped), or
// all of them if all is set.
func (w *Writer) release(now time.Time, all bool) {
	o := w.ord
	if o == nil {
		return
	}
	var old, ahead int64
	if !now.IsZero() {
		old, ahead = now.Add(-o.wait).UnixNano(), now.Add(o.wait).UnixNano()
	}
	for {
		i := o.oldest()
		if i < 0 {
			return
		}
		f := o.queues[i].q[o.queues[i].head]
		if !all && !o.ready(i, f.ts) && (now.IsZero() || f.ts > old && f.ts < ahead) {
			return
		}
		o.queues[i].pop()
		o.frames--
		o.bytes -= len(f.data)
		if f.ts < o.last {
			w.st.OutOfOrder++
		} else {
			o.last = f.ts
		}
		_ = w.writePacket(i, time.Unix(0, f.ts), f.wireLen, f.data) // i is in range; disk errors are counted inside
		if len(o.free) < 1024 && cap(f.data) <= orderPoolMax {
			o.free = append(o.free, f.data[:0])
		}
	}
}

// orderDue is when held frames are next due by age, for NextTick; the zero
// Time if none are held.
func (w *Writer) orderDue() time.Time {
	if w.ord == nil {
		return time.Time{}
	}
	return w.ord.due()
}
