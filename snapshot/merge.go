package snapshot

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"time"

	"github.com/arpbox/arpbox/internal/pcapng"
	"github.com/arpbox/arpbox/ring"
)

// A segment holds each interface's packets in time order, but interleaved
// by capture block, so packets of different interfaces are up to ~0.5 s
// apart in the file. The merge therefore reads each segment once per
// interface (a stream: the segment's packets of that interface), and merges
// the streams by time; a stream needs no more than a small reorder buffer
// for the rare packet a little out of order within one interface, so memory
// does not grow with the capture rate or the window.
const (
	// reorderSlack is how far out of time order packets inside one stream
	// may be; a packet is emitted once its stream has been read this far
	// past it, or the stream's buffer is full.
	reorderSlack = time.Second
	// openLead opens the next segment this long before its start name, as
	// segments hold packets from about a second before they were opened.
	openLead = reorderSlack + 2*time.Second
	// maxReorder caps the packets buffered per stream, so memory stays
	// bounded even at storm rates, when a dozen short segments are open at
	// once within openLead; past it packets may be written slightly out of
	// order (counted in the manifest). Within one interface packets are
	// out of order by a few at most.
	maxReorder = 512
)

// mergeInput is one frozen segment file.
type mergeInput struct {
	Path  string
	Seq   uint64
	Start time.Time // on the timeline (see clock.go)
	// Offset is wall clock minus timeline for the segment's packets;
	// StepAfter is the step of the wall clock recorded right after it,
	// which its last packets may already carry.
	Offset, StepAfter time.Duration
}

// mergeStats is what a merge saw.
type mergeStats struct {
	Packets     uint64
	PerIface    []uint64 // by output interface id
	First, Last int64    // ns, wall clock; valid if Packets > 0
	firstTL     int64    // First and Last on the timeline
	lastTL      int64
	Trigger     uint64 // 1-based index of the packet carrying the trigger comment; 0 = none
	TriggerTime int64
	OutOfOrder  uint64
	MaxBuffered int
	Torn        []string // segment files whose tail was torn or invalid
	Unreadable  []string // segment files that could not be read at all
}

// merger streams the packets of several nearly sorted segments into one
// time-ordered pcapng, keeping only [from, to]. Times are on the recorder's
// timeline (a packet's wall-clock time minus its segment's offset, moved
// with any jump of the wall clock inside the segment); packets are written
// with their wall-clock times.
type merger struct {
	log     *slog.Logger
	inputs  []mergeInput
	from    int64
	to      int64
	trigger int64
	comment string
	slack   int64
	maxBuf  int

	ifaces  []pcapng.Interface // output interfaces
	streams []int              // per input: interfaces described at its head (streams to read); 0 = unreadable head
	w       *pcapng.Writer
	sinks   []StreamCollector // see every packet written
	stats   mergeStats
	pool    []*qpkt
	qpool   [][]*qpkt // reorder buffers of finished streams, for the next ones
}

type qpkt struct {
	ts      int64 // on the timeline: the order and the window
	wall    int64 // as stamped: written
	ord     uint64
	iface   int
	wireLen int
	data    []byte
}

func (a *qpkt) before(b *qpkt) bool {
	if a.ts != b.ts {
		return a.ts < b.ts
	}
	return a.ord < b.ord
}

// pktQueue is a stream's reorder buffer, kept sorted. Packets almost always
// arrive in order, so a push is an append and a pop takes the head; the
// rare late packet is inserted near the tail.
type pktQueue struct {
	q    []*qpkt
	head int
}

func (b *pktQueue) len() int     { return len(b.q) - b.head }
func (b *pktQueue) first() *qpkt { return b.q[b.head] }

func (b *pktQueue) push(p *qpkt) {
	n := len(b.q)
	if n == b.head || !p.before(b.q[n-1]) {
		b.q = append(b.q, p)
		return
	}
	i := n - 1
	for i > b.head && p.before(b.q[i-1]) {
		i--
	}
	b.q = slices.Insert(b.q, i, p)
}

func (b *pktQueue) pop() *qpkt {
	p := b.q[b.head]
	b.q[b.head] = nil
	b.head++
	if b.head == len(b.q) {
		b.q, b.head = b.q[:0], 0
	} else if b.head >= 1024 && b.head*2 >= len(b.q) {
		n := copy(b.q, b.q[b.head:])
		clear(b.q[n:])
		b.q, b.head = b.q[:n], 0
	}
	return p
}

// source is one stream: the packets of one interface in one open segment,
// with its reorder buffer.
type source struct {
	in      mergeInput
	idx     int
	only    int // the segment's interface id this stream emits
	primary bool
	streams int // streams of this segment: the primary one also emits interfaces described later
	r       *pcapng.Reader
	pkt     pcapng.Packet
	ifmap   []int  // segment interface id -> output id
	n       uint64 // packets read from the segment, of any interface
	buf     pktQueue
	maxSeen int64 // on the timeline
	done    bool
	// off is the stream's wall-minus-timeline offset (ns); lastWall the
	// previous packet's stamp, to notice the clock jump in the stream.
	off      int64
	lastWall int64
	seen     bool
	stepped  bool // the recorded forward step was applied
}

// key places a packet stamped wall on the timeline. Within one stream
// (one interface in one segment) packets come in capture order, so a jump
// back of more than ring.ClockStepMin is a step of the wall clock, and so
// is a jump forward by about the step recorded after the segment; the
// stream's offset follows the step, and no packet is lost to it.
func (s *source) key(wall int64) int64 {
	if s.seen {
		d := wall - s.lastWall
		step := int64(s.in.StepAfter)
		switch {
		case d < -int64(ring.ClockStepMin):
			if step < 0 && !s.stepped {
				d = step
			}
			s.off += d
			s.stepped = true
		case step > int64(ring.ClockStepMin) && !s.stepped && d >= step/2:
			s.off += step
			s.stepped = true
		}
	}
	s.lastWall, s.seen = wall, true
	return wall - s.off
}

// mine reports whether the segment's packet of interface id belongs to s.
func (s *source) mine(id int) bool {
	return id == s.only || (s.primary && id >= s.streams)
}

type sourceHeap []*source

func (h sourceHeap) Len() int { return len(h) }
func (h sourceHeap) Less(i, j int) bool {
	return h[i].buf.first().before(h[j].buf.first())
}
func (h sourceHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *sourceHeap) Push(x any)   { *h = append(*h, x.(*source)) }
func (h *sourceHeap) Pop() any {
	old := *h
	s := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return s
}

func newMerger(log *slog.Logger, inputs []mergeInput, from, to, trigger time.Time, comment string) *merger {
	return &merger{
		log:     log,
		inputs:  inputs,
		from:    from.UnixNano(),
		to:      to.UnixNano(),
		trigger: trigger.UnixNano(),
		comment: comment,
		slack:   int64(reorderSlack),
		maxBuf:  maxReorder,
	}
}

// scanInterfaces reads the interface blocks at the head of every input, so
// every interface gets its output id (and IDB) before the first packet.
func (m *merger) scanInterfaces() {
	m.streams = make([]int, len(m.inputs))
	var p pcapng.Packet
	for i, in := range m.inputs {
		r, err := pcapng.Open(in.Path)
		if err != nil {
			m.log.Warn("cannot read frozen segment", "segment", filepath.Base(in.Path), "err", err)
			continue
		}
		_ = r.Next(&p) // the interfaces declared before the first packet
		for _, ifc := range r.Interfaces() {
			m.outIface(ifc)
			m.streams[i]++
		}
		r.Close()
	}
}

// outIface returns the output id for an interface, matched by name (and
// link type), adding it if new.
func (m *merger) outIface(in pcapng.Interface) int {
	for i, o := range m.ifaces {
		if o.Name == in.Name && o.LinkType == in.LinkType {
			return i
		}
	}
	m.ifaces = append(m.ifaces, in)
	m.stats.PerIface = append(m.stats.PerIface, 0)
	if m.w != nil {
		// an interface that first appears mid-stream: pcapng allows a late IDB
		if _, err := m.w.WriteInterface(in); err != nil {
			m.log.Warn("write late interface block", "iface", in.Name, "err", err)
		}
	}
	return len(m.ifaces) - 1
}

func (m *merger) getPkt() *qpkt {
	if n := len(m.pool); n > 0 {
		p := m.pool[n-1]
		m.pool = m.pool[:n-1]
		return p
	}
	return &qpkt{}
}

func (m *merger) putPkt(p *qpkt) {
	if cap(p.data) <= 16<<10 {
		m.pool = append(m.pool, p)
	}
}

func (m *merger) open(idx, only, streams int) (*source, error) {
	in := m.inputs[idx]
	r, err := pcapng.Open(in.Path)
	if err != nil {
		return nil, fmt.Errorf("open frozen segment %s: %w", filepath.Base(in.Path), err)
	}
	s := &source{in: in, idx: idx, only: only, primary: only == 0, streams: streams,
		r: r, maxSeen: -1 << 63, off: int64(in.Offset)}
	if n := len(m.qpool); n > 0 {
		s.buf.q = m.qpool[n-1]
		m.qpool = m.qpool[:n-1]
	}
	return s, nil
}

// fill reads until the oldest buffered packet is safe to emit (the segment
// has been read slack past it), the buffer is full, or the segment ends.
func (m *merger) fill(s *source) {
	for !s.done {
		if n := s.buf.len(); n > 0 && (s.maxSeen >= s.buf.first().ts+m.slack || n >= m.maxBuf) {
			return
		}
		p := &s.pkt
		err := s.r.Next(p)
		if err != nil {
			s.done = true
			if !s.primary { // the segment's primary stream reports it
				break
			}
			switch {
			case errors.Is(err, io.EOF):
			case errors.Is(err, pcapng.ErrTruncated) || errors.Is(err, pcapng.ErrInvalid) || errors.Is(err, pcapng.ErrVersion):
				if s.r.Offset() == 0 {
					m.stats.Unreadable = append(m.stats.Unreadable, filepath.Base(s.in.Path))
				} else {
					m.stats.Torn = append(m.stats.Torn, filepath.Base(s.in.Path))
				}
				m.log.Info("segment ends in a torn or invalid block; using the packets before it",
					"segment", filepath.Base(s.in.Path), "valid_bytes", s.r.Offset(), "err", err)
			default:
				m.stats.Unreadable = append(m.stats.Unreadable, filepath.Base(s.in.Path))
				m.log.Warn("read frozen segment", "segment", filepath.Base(s.in.Path), "err", err)
			}
			break
		}
		s.n++
		if !s.mine(p.Interface) {
			continue
		}
		for ifs := s.r.Interfaces(); len(s.ifmap) < len(ifs); {
			s.ifmap = append(s.ifmap, m.outIface(ifs[len(s.ifmap)]))
		}
		ts := s.key(p.Timestamp)
		if ts > s.maxSeen {
			s.maxSeen = ts
		}
		if ts < m.from {
			continue
		}
		if ts > m.to {
			// Past the window by more than the reorder slack: nothing
			// later in the stream can be in it (a step back would show as
			// a jump, which key follows).
			if s.maxSeen > m.to+m.slack {
				s.done = true
			}
			continue
		}
		q := m.getPkt()
		q.ts, q.wall, q.iface, q.wireLen = ts, p.Timestamp, s.ifmap[p.Interface], p.Length
		q.data = append(q.data[:0], p.Data...)
		// Equal times keep the order of the files: earlier segment first,
		// then the packet's place in its segment.
		q.ord = uint64(s.idx)<<40 | s.n
		s.buf.push(q)
		if s.buf.len() > m.stats.MaxBuffered {
			m.stats.MaxBuffered = s.buf.len()
		}
	}
	if s.done && s.r != nil {
		s.r.Close()
		s.r = nil
	}
	if s.done && s.buf.len() == 0 && s.buf.q != nil {
		m.qpool = append(m.qpool, s.buf.q[:0])
		s.buf.q, s.buf.head = nil, 0
	}
}

// run merges all inputs into w. The interface blocks must already be written
// (scanInterfaces, then WriteInterface for each of m.ifaces).
func (m *merger) run(ctx context.Context, w *pcapng.Writer) error {
	m.w = w
	var active sourceHeap
	next := 0
	lead := int64(openLead)
	openNext := func() {
		in := m.inputs[next]
		idx := next
		next++
		streams := max(m.streams[idx], 1)
		for only := range streams {
			s, err := m.open(idx, only, streams)
			if err != nil {
				m.stats.Unreadable = append(m.stats.Unreadable, filepath.Base(in.Path))
				m.log.Warn("skip frozen segment", "err", err)
				return
			}
			m.fill(s)
			if s.buf.len() > 0 {
				heap.Push(&active, s)
			}
		}
	}
	defer func() {
		for _, s := range active {
			if s.r != nil {
				s.r.Close()
			}
		}
	}()
	last := int64(-1 << 63)
	for {
		if len(active) == 0 {
			if next >= len(m.inputs) {
				return nil
			}
			openNext()
			continue
		}
		if next < len(m.inputs) && m.inputs[next].Start.UnixNano()-lead <= active[0].buf.first().ts {
			openNext()
			continue
		}
		if m.stats.Packets%4096 == 0 && ctx.Err() != nil {
			return fmt.Errorf("merging the window: %w", ctx.Err())
		}
		s := active[0]
		p := s.buf.pop()
		if p.ts < last {
			m.stats.OutOfOrder++
		} else {
			last = p.ts
		}
		comment := ""
		if m.stats.Trigger == 0 && p.ts >= m.trigger {
			comment = m.comment
			m.stats.Trigger = m.stats.Packets + 1
			m.stats.TriggerTime = p.wall
		}
		if err := w.WritePacket(p.iface, p.wall, p.wireLen, p.data, comment); err != nil {
			return fmt.Errorf("write capture: %w", err)
		}
		for _, k := range m.sinks {
			k.Packet(p.wall, int(m.ifaces[p.iface].LinkType), p.data)
		}
		// First and last in the capture's order (the timeline's).
		if m.stats.Packets == 0 || p.ts < m.stats.firstTL {
			m.stats.First, m.stats.firstTL = p.wall, p.ts
		}
		if m.stats.Packets == 0 || p.ts >= m.stats.lastTL {
			m.stats.Last, m.stats.lastTL = p.wall, p.ts
		}
		m.stats.Packets++
		m.stats.PerIface[p.iface]++
		m.putPkt(p)
		m.fill(s)
		if s.buf.len() == 0 {
			heap.Pop(&active)
		} else {
			heap.Fix(&active, 0)
		}
	}
}
