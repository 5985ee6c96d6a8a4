package analyze

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// Two-sided analysis.
//
// Each input is one capture point. For two inputs A and B, the same request
// appears in both captures when it crossed the path between them. Requests
// are matched by (VLAN, sender IP, sender MAC, target IP) and time, after
// correcting for the clock offset between the two hosts. The offset is the
// most common time difference of packets seen on both sides (a 5 ms wide
// mode, then its median), so one-way transit time is folded into it.
//
// For each request unanswered on the asker's side:
//   - not in the other capture at all: the request never arrived;
//   - in the other capture, with no reply there either: it arrived but no
//     reply was sent;
//   - in the other capture with a reply there: the reply was sent but never
//     arrived.
//
// The target's side is the input that saw more packets sent by the target;
// on a tie, the first input is taken as the asker's side.

type exKey struct {
	vlan     uint32
	from, to netip.Addr
	mac      MAC
}

const (
	maxOffset   = int64(10 * time.Minute)
	offsetWidth = int64(5 * time.Millisecond)
)

// rec, when set, is the clock offset recorded between the hosts (B minus
// A): used when no request was seen in both captures.
func twoSided(a, b *sideRun, timeout int64, rec *int64) PairReport {
	pr := PairReport{Sides: [2]string{a.in.name, b.in.name}, Truncated: a.eng.exchTruncated || b.eng.exchTruncated}
	idxB := indexExchanges(b.eng.exch)
	off, n := estimateOffset(a.eng.exch, b.eng.exch, idxB)
	switch {
	case n == 0 && rec != nil:
		off = *rec
		pr.OffsetBasis = "no request seen in both captures; the clock offset recorded when the peer was asked"
	case n == 0:
		pr.OffsetBasis = "no request seen in both captures; clocks assumed equal"
	default:
		pr.OffsetBasis = fmt.Sprintf("median time difference of %d requests seen in both captures (includes one-way transit time)", n)
		if rec != nil {
			pr.OffsetBasis += fmt.Sprintf("; recorded when the peer was asked: %s", signedDur(ms(*rec)))
		}
	}
	pr.OffsetMS = ms(off)
	tol := min(timeout/2, int64(250*time.Millisecond))

	matchA := make([]int32, len(a.eng.exch))
	matchB := make([]int32, len(b.eng.exch))
	for i := range matchA {
		matchA[i] = -1
	}
	for i := range matchB {
		matchB[i] = -1
	}
	for i, x := range a.eng.exch {
		list := idxB[exKey{x.vlan, x.from, x.to, x.mac}]
		want := x.ts + off
		j := nearest(b.eng.exch, list, want, tol, matchB)
		if j >= 0 {
			matchA[i], matchB[j] = int32(j), int32(i)
			pr.Matched++
		}
	}

	agg := map[aggKey]*aggFail{}
	var order []aggKey
	add := func(k aggKey, t int64, ra Ref, rb Ref, hasB bool, mac MAC) {
		f, ok := agg[k]
		if !ok {
			f = &aggFail{first: t}
			agg[k] = f
			order = append(order, k)
		}
		f.count++
		f.last = t
		f.evA.add(ra)
		if hasB {
			f.evB.add(rb)
		}
		if !mac.IsZero() {
			f.mac = mac
		}
	}
	coverB := [2]int64{b.eng.first - off, b.eng.last - off}

	sent := map[sideIP]uint64{}
	isAsker := func(x, y *sideRun, target netip.Addr, xIsFirst bool) bool {
		count := func(s *sideRun) uint64 {
			k := sideIP{s, target}
			if n, ok := sent[k]; ok {
				return n
			}
			n := sentBy(s, target)
			sent[k] = n
			return n
		}
		nx, ny := count(x), count(y)
		if nx != ny {
			return nx < ny
		}
		return xIsFirst
	}
	visit := func(x, y *sideRun, match []int32, cover [2]int64, xIsA bool) {
		for i, ex := range x.eng.exch {
			if ex.answered {
				continue
			}
			// Only requests the other capture could have seen.
			if ex.ts < cover[0] || ex.ts > cover[1]-timeout {
				continue
			}
			j := match[i]
			askerIsX := isAsker(x, y, ex.to, xIsA)
			if j < 0 {
				if !askerIsX {
					continue // the target's side saw a request the asker's capture missed
				}
				add(aggKey{NeverArrived, ex.vlan, ex.from, ex.to, xIsA}, ex.ts, ex.ref, Ref{}, false, MAC{})
				continue
			}
			ey := y.eng.exch[j]
			if ey.answered {
				if !askerIsX {
					continue
				}
				rr, ok := findReply(y.eng.replies, ey, timeout)
				add(aggKey{ReplyLost, ex.vlan, ex.from, ex.to, xIsA}, ex.ts, ex.ref, rr.ref, ok, rr.mac)
				continue
			}
			// Unanswered on both sides: count it once, from the asker's side.
			if askerIsX {
				add(aggKey{NoReplySent, ex.vlan, ex.from, ex.to, xIsA}, ex.ts, ex.ref, ey.ref, true, MAC{})
			}
		}
	}
	visit(a, b, matchA, coverB, true)
	visit(b, a, matchB, [2]int64{a.eng.first + off, a.eng.last + off}, false)

	for _, k := range order {
		f := agg[k]
		asker, other := a, b
		if !k.askerIsA {
			asker, other = b, a
		}
		pf := PairFailure{
			Class: k.class, Asker: k.from.String(), Target: k.to.String(), VLAN: vlanString(k.vlan),
			AskerSide: asker.in.name, OtherSide: other.in.name, Count: f.count,
			First: ts(f.first), Last: ts(f.last),
		}
		if !f.mac.IsZero() {
			pf.ReplyMAC = f.mac.String()
		}
		pf.Evidence = append(pf.Evidence, asker.evidence(&f.evA, "requests at "+asker.in.name)...)
		note := "requests at " + other.in.name
		if k.class == ReplyLost {
			note = "replies at " + other.in.name
		}
		pf.Evidence = append(pf.Evidence, other.evidence(&f.evB, note)...)
		pr.Exchanges = append(pr.Exchanges, pf)
	}
	slices.SortStableFunc(pr.Exchanges, func(x, y PairFailure) int { return cmp.Compare(y.Count, x.Count) })
	return pr
}

type aggKey struct {
	class    string
	vlan     uint32
	from, to netip.Addr
	askerIsA bool
}

type aggFail struct {
	count       uint64
	first, last int64
	evA, evB    evidence
	mac         MAC
}

type sideIP struct {
	s  *sideRun
	ip netip.Addr
}

// sentBy counts packets in s sent by ip (as the ARP/NDP sender), the
// evidence for which side of the link ip lives on.
func sentBy(s *sideRun, ip netip.Addr) uint64 {
	var n uint64
	for k, t := range s.eng.targets {
		if k.ip == ip {
			for _, m := range t.macs {
				n += m.count
			}
		}
	}
	return n
}

func indexExchanges(ex []exchange) map[exKey][]int32 {
	idx := make(map[exKey][]int32)
	for i, x := range ex {
		k := exKey{x.vlan, x.from, x.to, x.mac}
		idx[k] = append(idx[k], int32(i))
	}
	for _, l := range idx {
		slices.SortStableFunc(l, func(p, q int32) int { return cmp.Compare(ex[p].ts, ex[q].ts) })
	}
	return idx
}

// nearest returns the unmatched entry of list closest to want within tol, or -1.
func nearest(ex []exchange, list []int32, want, tol int64, used []int32) int {
	i, _ := slices.BinarySearchFunc(list, want-tol, func(e int32, t int64) int { return cmp.Compare(ex[e].ts, t) })
	best, bestD := -1, tol+1
	for ; i < len(list); i++ {
		j := list[i]
		d := ex[j].ts - want
		if d > tol {
			break
		}
		if used[j] >= 0 {
			continue
		}
		if d < 0 {
			d = -d
		}
		if d < bestD {
			best, bestD = int(j), d
		}
	}
	return best
}

// estimateOffset returns B's clock minus A's clock and the number of
// requests the estimate rests on.
func estimateOffset(a, b []exchange, idxB map[exKey][]int32) (int64, int) {
	var deltas []int64
	step := max(1, len(a)/20000)
	for i := 0; i < len(a); i += step {
		x := a[i]
		list := idxB[exKey{x.vlan, x.from, x.to, x.mac}]
		if len(list) == 0 {
			continue
		}
		// Up to 16 candidates on each side of the same time: the offset
		// between hosts is usually small against the request spacing.
		k, _ := slices.BinarySearchFunc(list, x.ts, func(e int32, t int64) int { return cmp.Compare(b[e].ts, t) })
		for m := k; m < len(list) && m < k+16; m++ {
			if d := b[list[m]].ts - x.ts; d <= maxOffset {
				deltas = append(deltas, d)
			}
		}
		for m := k - 1; m >= 0 && m >= k-16; m-- {
			if d := b[list[m]].ts - x.ts; d >= -maxOffset {
				deltas = append(deltas, d)
			}
		}
	}
	if len(deltas) == 0 {
		return 0, 0
	}
	slices.Sort(deltas)
	// Densest window of offsetWidth; ties go to the smaller |offset|.
	bestI, bestJ := 0, 0
	j := 0
	for i := range deltas {
		for j < len(deltas) && deltas[j]-deltas[i] <= offsetWidth {
			j++
		}
		if n := j - i; n > bestJ-bestI || (n == bestJ-bestI && abs(deltas[i]) < abs(deltas[bestI])) {
			bestI, bestJ = i, j
		}
	}
	win := deltas[bestI:bestJ]
	return win[len(win)/2], len(win)
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// findReply finds the reply on the target's side that answered request r.
func findReply(replies []replyRec, r exchange, timeout int64) (replyRec, bool) {
	i, _ := slices.BinarySearchFunc(replies, r.ts, func(x replyRec, t int64) int { return cmp.Compare(x.ts, t) })
	for ; i < len(replies) && replies[i].ts <= r.ts+timeout; i++ {
		x := replies[i]
		if x.vlan == r.vlan && x.from == r.to && x.to == r.from {
			return x, true
		}
	}
	return replyRec{}, false
}
