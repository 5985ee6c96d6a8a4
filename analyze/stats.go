package analyze

import (
	"math/bits"
	"slices"
)

// latency records reply latencies: exact samples while few, then a
// log-linear histogram (16 sub-buckets per power of two, about 6%
// resolution), so memory per address stays small and bounded.
type latency struct {
	n       uint64
	max     int64
	samples []int64 // exact, up to maxSamples
	// hist covers the buckets up to the largest latency seen, in steps of
	// histStep (at most histSize): latencies are at most the reply
	// timeout, so most addresses need a quarter of the buckets.
	hist []uint32
}

const (
	maxSamples = 32
	histSize   = 512
	histStep   = 64
)

func (l *latency) add(ns int64) {
	if ns < 0 {
		ns = 0
	}
	l.n++
	l.max = max(l.max, ns)
	if len(l.samples) < maxSamples {
		if l.samples == nil {
			l.samples = make([]int64, 0, maxSamples)
		}
		l.samples = append(l.samples, ns)
	}
	if l.hist == nil {
		if l.n <= maxSamples {
			return
		}
		l.growHist(histBucket(uint64(l.max)))
		for _, s := range l.samples {
			l.hist[histBucket(uint64(s))]++
		}
		if l.n == uint64(len(l.samples)) {
			return
		}
	}
	b := histBucket(uint64(ns))
	if b >= len(l.hist) {
		l.growHist(b)
	}
	if l.hist[b] < ^uint32(0) {
		l.hist[b]++
	}
}

// growHist makes bucket b part of the histogram.
func (l *latency) growHist(b int) {
	n := min((b/histStep+1)*histStep, histSize)
	h := make([]uint32, n)
	copy(h, l.hist)
	l.hist = h
}

// histBucket maps v to 8 sub-buckets per power of two.
func histBucket(v uint64) int {
	if v < 8 {
		return int(v)
	}
	e := bits.Len64(v) - 4 // v >> e is in [8, 16)
	return (e+1)*8 + int(v>>uint(e)) - 8
}

// histValue is the upper bound of bucket b.
func histValue(b int) int64 {
	if b < 8 {
		return int64(b)
	}
	e := b/8 - 1
	m := uint64(b%8 + 8)
	return int64((m+1)<<uint(e) - 1)
}

// quantile returns the q-quantile (0..1) in nanoseconds.
func (l *latency) quantile(q float64) int64 {
	if l.n == 0 {
		return 0
	}
	if uint64(len(l.samples)) == l.n {
		s := slices.Clone(l.samples)
		slices.Sort(s)
		i := int(q*float64(len(s)-1) + 0.5)
		return s[i]
	}
	rank := uint64(q*float64(l.n-1)+0.5) + 1
	var c uint64
	for b, n := range l.hist {
		c += uint64(n)
		if c >= rank {
			return min(histValue(b), l.max)
		}
	}
	return l.max
}

type tlField uint8

const (
	tlRequest tlField = iota
	tlReply
	tlUnanswered
	tlOther // probes, announcements, gratuitous replies
)

// timeline counts packets per time bucket for one target. Buckets start one
// second wide and double in width whenever there are too many, so memory is
// bounded whatever the capture length.
type timeline struct {
	// buckets[hit] covers [lo, hi) ns after the origin: the bucket of the
	// last packet, which most of the next packets fall into. Empty if hi <= lo.
	// Its counts are kept in n, next to the rest of the target's state, and
	// added to the bucket when another bucket is hit or at flush. These
	// fields come first: they are the ones most packets touch.
	lo, hi  int64
	n       [4]uint32
	hit     int
	width   int64 // ns; 0 until first use
	buckets []tlBucket
}

// flush adds the counts held for the last bucket to it. The buckets are
// complete only after a flush.
func (tl *timeline) flush() {
	if tl.n != [4]uint32{} {
		for i, c := range tl.n {
			tl.buckets[tl.hit].n[i] += c
		}
		tl.n = [4]uint32{}
	}
}

type tlBucket struct {
	idx int64
	n   [4]uint32
}

const maxBuckets = 120

func (tl *timeline) add(origin, ts int64, f tlField) {
	rel := ts - origin
	if rel >= tl.lo && rel < tl.hi {
		tl.n[f]++
		return
	}
	tl.flush()
	if tl.width == 0 {
		tl.width = 1e9
	}
	idx := floorDiv(rel, tl.width)
	tl.lo, tl.hi = idx*tl.width, (idx+1)*tl.width
	// Packets arrive almost in order: look back a few buckets.
	for i := len(tl.buckets) - 1; i >= 0 && i >= len(tl.buckets)-4; i-- {
		if tl.buckets[i].idx == idx {
			tl.buckets[i].n[f]++
			tl.hit = i
			return
		}
		if tl.buckets[i].idx < idx {
			break
		}
	}
	pos := len(tl.buckets)
	for pos > 0 && tl.buckets[pos-1].idx > idx {
		pos--
	}
	if pos > 0 && tl.buckets[pos-1].idx == idx {
		tl.buckets[pos-1].n[f]++
		tl.hit = pos - 1
		return
	}
	if len(tl.buckets) == cap(tl.buckets) {
		tl.grow()
	}
	tl.buckets = tl.buckets[:len(tl.buckets)+1]
	copy(tl.buckets[pos+1:], tl.buckets[pos:])
	tl.buckets[pos] = tlBucket{idx: idx}
	tl.buckets[pos].n[f] = 1
	tl.hit = pos
	if len(tl.buckets) > maxBuckets {
		tl.coarsen()
		tl.hi = tl.lo // the buckets moved
	}
}

// grow makes room for more buckets: a few at first, then maxBuckets and one
// more (the one that makes coarsen merge them). Most addresses are seen in a
// few buckets; one that fills them does so at once, without the copies and
// the garbage of doubling. Buckets far apart in time merge only after more
// than one coarsen: then there may be more.
func (tl *timeline) grow() {
	n := 4
	switch {
	case cap(tl.buckets) > maxBuckets:
		n = 2 * cap(tl.buckets)
	case cap(tl.buckets) >= 16:
		n = maxBuckets + 1
	case cap(tl.buckets) >= 4:
		n = 16
	}
	b := make([]tlBucket, len(tl.buckets), n)
	copy(b, tl.buckets)
	tl.buckets = b
}

func (tl *timeline) coarsen() {
	tl.width *= 2
	out := tl.buckets[:0]
	for _, b := range tl.buckets {
		b.idx = floorDiv(b.idx, 2)
		if len(out) > 0 && out[len(out)-1].idx == b.idx {
			for i := range b.n {
				out[len(out)-1].n[i] += b.n[i]
			}
			continue
		}
		out = append(out, b)
	}
	tl.buckets = out
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
