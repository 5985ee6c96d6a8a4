package analyze

import (
	"net/netip"
	"slices"
)

// Ref points at one frame: File indexes the side's file list, Frame is the
// 1-based frame number as Wireshark shows it for that file.
type Ref struct {
	File  int32
	Frame uint64
}

// evidence keeps a bounded sample of frame references: the first few and the
// last one, plus the total count.
type evidence struct {
	first [6]Ref
	n     int
	last  Ref
	count uint64
}

func (e *evidence) add(r Ref) {
	if e.n < len(e.first) {
		e.first[e.n] = r
		e.n++
	}
	e.last = r
	e.count++
}

func (e *evidence) refs() []Ref {
	if e.n == 0 {
		return nil
	}
	out := append(make([]Ref, 0, e.n+1), e.first[:e.n]...)
	if e.count > uint64(e.n) {
		out = append(out, e.last)
	}
	return out
}

type tkey struct {
	vlan uint32
	ip   netip.Addr
}

type pending struct {
	ts      int64
	sender  netip.Addr
	smac    MAC
	ref     Ref
	unicast bool
	probe   bool
	exch    int32 // index into engine.exch, -1 if not recorded
}

type seen struct {
	ts  int64
	mac MAC
	ref Ref
	to  netip.Addr
	ok  bool
}

// set records a packet. Field by field, on the packet path: a composite
// literal assigned to a struct that holds pointers is built on the stack and
// copied, and the copy's wide loads stall on the narrow stores just made.
func (s *seen) set(ts int64, mac MAC, ref Ref, to netip.Addr) {
	s.ts, s.mac, s.ref, s.to, s.ok = ts, mac, ref, to, true
}

type asker struct {
	ip    netip.Addr
	mac   MAC
	count uint64
}

type episode struct {
	start, end      int64
	count           uint64
	unicast         uint64
	askers          []asker
	ev              evidence
	lastReplyBefore seen
	recovered       seen
}

type macSeen struct {
	mac         MAC
	first, last int64
	count       uint64
	ref         Ref
	replied     bool // it answered a request for the address
}

type change struct {
	ts       int64
	from, to MAC
	ref      Ref
	kind     Kind
}

type dup struct {
	ts         int64
	a, b       MAC
	refA, refB Ref
	to         netip.Addr
}

// unsol is one unsolicited reply: mac claimed the address, which held
// (zero if nobody yet) had, telling to.
type unsol struct {
	ts        int64
	mac, held MAC
	to        netip.Addr
	ref       Ref
}

type target struct {
	// The fields every packet about the address touches come first, so that
	// a packet reads a few cache lines of the target, not all of it: with
	// many addresses in the capture the targets are not in the L1/L2 cache.
	key    tkey
	last   int64
	proto  Proto
	queued bool // in engine.queue
	hasMAC bool
	mac    MAC

	requests, broadcast, unicast, replies uint64
	answered, ansUnicast, ansBroadcast    uint64

	pending   []pending
	tl        timeline
	lat       latency
	macs      []macSeen
	open      *episode
	lastReply seen
	lastSent  seen // last request or announcement this address sent itself

	first                              int64
	unanswered, unansUnicast           uint64
	probes, announcements, gratReplies uint64
	gratEv                             evidence
	gratMACs                           []MAC
	untracked                          uint64
	undecided                          uint64 // still waiting for a reply when the capture ended

	changes   uint64
	flips     uint64
	changeLog []change

	dups   uint64
	dupLog []dup

	conflicts   uint64
	conflictLog []dup

	// Replies that answered no request seen from their asker within the
	// timeout. spoofs are those that claimed the address for another MAC
	// than the one holding it (arpwatch's "changed ethernet address", by
	// an unsolicited reply): ARP spoofing, or a takeover.
	unsolicited uint64
	unsolLog    []unsol
	spoofs      uint64

	spare     *episode // the last closed open episode's memory, reused for the next one
	episodes  []episode
	episodesN uint64 // all episodes, including those not kept

	recent *recent // nil unless engineConfig.recent (the live Detector)
}

// recent holds an address's latest unanswered request times and conflict
// times, for the live Detector's queries. A report has no use for them: it
// does not keep them, and its targets are 640 bytes smaller.
type recent struct {
	unans     [64]int64
	unansN    int
	conflict  [16]int64
	conflictN int
}

const (
	maxPending   = 64
	maxMACs      = 8
	maxChanges   = 32
	maxDups      = 16
	maxEpisodes  = 8
	maxAskers    = 8
	maxGratMACs  = 8
	maxStorms    = 8
	maxMismatchK = 1024
	maxUnsol     = 16
	maxClaimIPs  = 8
)

type sender struct {
	mac      MAC
	ip       netip.Addr
	requests uint64
	sec      int64
	cnt      int
	cur      *storm
	spare    *storm // the last closed storm's memory, reused for the next one
	storms   []storm
	stormsN  uint64
}

type storm struct {
	start, end int64 // seconds, Unix
	packets    uint64
	peak       int
	ev         evidence
}

type mismatch struct {
	eth, arp    MAC
	ip          netip.Addr
	first, last int64
	ev          evidence
}

type exchange struct {
	ts       int64
	vlan     uint32
	from, to netip.Addr
	mac      MAC
	ref      Ref
	answered bool
}

type replyRec struct {
	ts       int64
	vlan     uint32
	from, to netip.Addr // from = the address answered for, to = the asker
	mac      MAC
	ref      Ref
}

type engineConfig struct {
	timeout      int64 // ns
	stormRate    int
	maxTargets   int
	maxSenders   int
	evict        bool // live mode: evict idle targets instead of refusing new ones
	recent       bool // live mode: keep each target's recent times (target.recent)
	exchanges    bool
	maxExchanges int
}

// engine holds the streaming state of one side. It is not safe for
// concurrent use.
type engine struct {
	cfg        engineConfig
	targets    map[tkey]*target
	senders    map[MAC]*sender
	mismatches map[[2]MAC]*mismatch
	// queue holds targets with pending requests, roughly in the order their
	// oldest request expires; at most one entry per target.
	queue []*target
	qhead int

	now, first, last int64
	resolution       uint64
	arp, ndp         uint64
	skipped          uint64
	lostTargets      uint64
	lostSenders      uint64

	exch          []exchange
	replies       []replyRec
	exchTruncated bool

	// tcache is a direct-mapped cache in front of targets: most packets
	// are about an address seen a moment ago, and hashing the map key costs
	// more than the rest of the packet's work. Cleared when targets are evicted.
	tcache [tcacheSize]*target
	// scache is the same for senders, by MAC.
	scache [scacheSize]*sender
}

const scacheSize = 256

const tcacheSize = 1024

func tcacheSlot(k tkey) int {
	var lo byte
	var hi byte
	if k.ip.Is4() {
		b := k.ip.As4()
		lo, hi = b[3], b[2]
	} else {
		b := k.ip.As16()
		lo, hi = b[15], b[14]
	}
	return int((uint32(lo) | uint32(hi)<<8 ^ k.vlan*0x9e37) % tcacheSize)
}

func newEngine(cfg engineConfig) *engine {
	return &engine{
		cfg:        cfg,
		targets:    make(map[tkey]*target),
		senders:    make(map[MAC]*sender),
		mismatches: make(map[[2]MAC]*mismatch),
	}
}

func (e *engine) target(k tkey, p Proto, ts int64) *target {
	slot := tcacheSlot(k)
	if t := e.tcache[slot]; t != nil && t.key == k {
		return t
	}
	if t, ok := e.targets[k]; ok {
		e.tcache[slot] = t
		return t
	}
	if len(e.targets) >= e.cfg.maxTargets {
		if !e.cfg.evict || !e.evictIdle(ts) {
			e.lostTargets++
			return nil
		}
	}
	t := &target{key: k, proto: p, first: ts, last: ts}
	if e.cfg.recent {
		t.recent = new(recent)
	}
	e.targets[k] = t
	e.tcache[slot] = t
	return t
}

// evictIdle drops the least recently active half of the targets that have no
// pending requests. It runs rarely (when the map is full), so its O(n log n)
// cost is amortised.
func (e *engine) evictIdle(now int64) bool {
	lasts := make([]int64, 0, len(e.targets))
	for _, t := range e.targets {
		lasts = append(lasts, t.last)
	}
	slices.Sort(lasts)
	cut := lasts[len(lasts)/2]
	n := 0
	for k, t := range e.targets {
		if t.last <= cut && len(t.pending) == 0 {
			delete(e.targets, k)
			n++
		}
	}
	clear(e.tcache[:])
	return n > 0
}

// observe feeds one decoded packet.
func (e *engine) observe(ts int64, p *Packet, ref Ref) {
	if e.resolution == 0 {
		e.first = ts
	}
	e.resolution++
	if p.Proto == ProtoARP {
		e.arp++
	} else {
		e.ndp++
	}
	if ts > e.now {
		e.now = ts
	}
	e.last = ts
	e.expire(ts)

	if !p.NoSenderMAC && !p.EthSrc.IsZero() && p.EthSrc != p.SenderMAC {
		e.mismatch(ts, p, ref)
	}
	vlan := p.VLANKey()
	switch kind := p.Kind(); kind {
	case KindRequest, KindProbe, KindAnnouncement:
		e.senderRate(ts, p, ref)
		if kind != KindProbe {
			if s := e.target(tkey{vlan, p.SenderIP}, p.Proto, ts); s != nil {
				s.last = ts
				s.lastSent.set(ts, p.SenderMAC, ref, netip.Addr{})
				e.bind(s, p.SenderMAC, ts, ref, kind)
			}
		}
		t := e.target(tkey{vlan, p.TargetIP}, p.Proto, ts)
		if t == nil {
			return
		}
		t.last = ts
		e.expireTarget(t, ts)
		switch kind {
		case KindAnnouncement:
			t.announcements++
			e.gratuitous(t, p, ref)
			t.tl.add(e.first, ts, tlOther)
			return
		case KindProbe:
			t.probes++
			t.tl.add(e.first, ts, tlOther)
		case KindRequest:
			t.requests++
			if p.Broadcast || p.EthDst.IsZero() {
				t.broadcast++
			} else {
				t.unicast++
			}
			t.tl.add(e.first, ts, tlRequest)
		}
		exch := int32(-1)
		if kind == KindRequest && e.cfg.exchanges {
			if len(e.exch) < e.cfg.maxExchanges {
				exch = int32(len(e.exch))
				e.exch = append(e.exch, exchange{ts: ts, vlan: vlan, from: p.SenderIP, to: p.TargetIP, mac: p.SenderMAC, ref: ref})
			} else {
				e.exchTruncated = true
			}
		}
		if len(t.pending) >= maxPending {
			// Too many requests in flight (a storm): give up on the oldest.
			// If nothing answered for this address since it was sent, it
			// is counted as unanswered now; otherwise it is untracked.
			old := t.pending[0]
			t.pending = append(t.pending[:0], t.pending[1:]...)
			if !old.probe && (!t.lastReply.ok || t.lastReply.ts < old.ts) {
				e.unanswered(t, old)
			} else {
				t.untracked++
			}
		}
		// Appended in place, field by field (see seen.set).
		t.pending = append(t.pending, pending{})
		pd := &t.pending[len(t.pending)-1]
		pd.ts, pd.sender, pd.smac, pd.ref = ts, p.SenderIP, p.SenderMAC, ref
		pd.unicast, pd.probe, pd.exch = !p.Broadcast && !p.EthDst.IsZero(), kind == KindProbe, exch
		if !t.queued {
			t.queued = true
			e.queue = append(e.queue, t)
		}
	case KindReply, KindGratuitousReply:
		t := e.target(tkey{vlan, p.SenderIP}, p.Proto, ts)
		if t == nil {
			return
		}
		t.last = ts
		if kind == KindGratuitousReply {
			t.gratReplies++
			e.gratuitous(t, p, ref)
			t.tl.add(e.first, ts, tlOther)
			e.bind(t, p.SenderMAC, ts, ref, kind)
			return
		}
		t.replies++
		e.expireTarget(t, ts)
		t.tl.add(e.first, ts, tlReply)
		if e.cfg.exchanges {
			if len(e.replies) < e.cfg.maxExchanges {
				e.replies = append(e.replies, replyRec{ts: ts, vlan: vlan, from: p.SenderIP, to: p.TargetIP, mac: p.SenderMAC, ref: ref})
			} else {
				e.exchTruncated = true
			}
		}
		e.reply(t, ts, p, ref)
		e.bind(t, p.SenderMAC, ts, ref, kind)
	}
}

func (e *engine) reply(t *target, ts int64, p *Packet, ref Ref) {
	// A reply to an asker answered within the timeout answers the same
	// request: not unsolicited. From another MAC, it is a duplicate address.
	lr := t.lastReply
	again := lr.ok && lr.to == p.TargetIP && ts-lr.ts <= e.cfg.timeout
	if again && lr.mac != p.SenderMAC {
		t.dups++
		if len(t.dupLog) < maxDups {
			t.dupLog = append(t.dupLog, dup{ts: ts, a: lr.mac, b: p.SenderMAC, refA: lr.ref, refB: ref, to: p.TargetIP})
		}
		t.noteConflict(ts)
	}
	t.lastReply.set(ts, p.SenderMAC, ref, p.TargetIP)

	var earliest int64 = -1
	kept := 0
	matched := 0
	for i := range t.pending {
		pd := &t.pending[i]
		if pd.sender != p.TargetIP || ts < pd.ts || ts > pd.ts+e.cfg.timeout {
			if kept != i {
				t.pending[kept] = *pd
			}
			kept++
			continue
		}
		matched++
		if pd.probe {
			// Someone defends an address that a host is probing for.
			t.conflicts++
			if len(t.conflictLog) < maxDups {
				t.conflictLog = append(t.conflictLog, dup{ts: ts, a: pd.smac, b: p.SenderMAC, refA: pd.ref, refB: ref})
			}
			t.noteConflict(ts)
			continue
		}
		t.answered++
		if pd.unicast {
			t.ansUnicast++
		} else {
			t.ansBroadcast++
		}
		if pd.exch >= 0 {
			e.exch[pd.exch].answered = true
		}
		if earliest < 0 || pd.ts < earliest {
			earliest = pd.ts
		}
	}
	t.pending = t.pending[:kept]
	if earliest >= 0 {
		t.lat.add(ts - earliest)
	}
	// A reply nobody asked for, once the capture has run long enough to
	// have seen the request.
	if matched == 0 && !again && ts-e.first > e.cfg.timeout && !p.TargetIP.IsUnspecified() {
		t.unsolicited++
		held := MAC{}
		if t.hasMAC && t.mac != p.SenderMAC {
			held = t.mac
			t.spoofs++
			t.noteConflict(ts)
		}
		u := unsol{ts: ts, mac: p.SenderMAC, held: held, to: p.TargetIP, ref: ref}
		switch {
		case len(t.unsolLog) < maxUnsol:
			t.unsolLog = append(t.unsolLog, u)
		case !held.IsZero():
			t.unsolLog[len(t.unsolLog)-1] = u // keep the latest claim
		}
	}
	if matched > 0 && t.open != nil {
		t.open.recovered = t.lastReply
		t.closeEpisode()
	}
}

func (t *target) noteConflict(ts int64) {
	if r := t.recent; r != nil {
		r.conflict[r.conflictN%len(r.conflict)] = ts
		r.conflictN++
	}
}

func (t *target) closeEpisode() {
	if t.open == nil {
		return
	}
	// An address that flaps opens an episode per unanswered request: the
	// closed episode's memory is reused for the next one, so the analysis
	// makes no garbage at that rate. Its askers now belong to the kept copy;
	// the next episode gets the askers of the one the copy replaces.
	var askers []asker
	if len(t.episodes) < maxEpisodes {
		if len(t.episodes) == cap(t.episodes) && len(t.episodes) > 0 {
			// Most addresses have one outage, if any; one that has a
			// second is likely to have all that are kept.
			t.episodes = slices.Grow(t.episodes, maxEpisodes-len(t.episodes))
		}
		t.episodes = append(t.episodes, *t.open)
	} else {
		// Keep the latest episode in the last slot: it is the one closest to
		// a trigger.
		last := &t.episodes[len(t.episodes)-1]
		askers = last.askers[:0]
		*last = *t.open
	}
	t.spare, t.open = t.open, nil
	t.spare.askers = askers
}

// episodeList is the kept episodes and then the open one, oldest first.
func (t *target) episodeList() []*episode {
	eps := make([]*episode, 0, len(t.episodes)+1)
	for i := range t.episodes {
		eps = append(eps, &t.episodes[i])
	}
	if t.open != nil {
		eps = append(eps, t.open)
	}
	return eps
}

// expire turns pending requests older than the timeout into unanswered
// ones. Targets are visited in queue order; a target whose oldest request has
// not expired yet stops the walk, so others may be judged up to one timeout
// late. That never changes a verdict: replies only answer requests within the
// timeout, and each target expires its own requests before it handles a new
// packet (expireTarget).
func (e *engine) expire(now int64) {
	for e.qhead < len(e.queue) {
		t := e.queue[e.qhead]
		if len(t.pending) > 0 && t.pending[0].ts+e.cfg.timeout >= now {
			break
		}
		e.queue[e.qhead] = nil
		e.qhead++
		e.expireTarget(t, now)
		if len(t.pending) > 0 {
			e.queue = append(e.queue, t)
		} else {
			t.queued = false
		}
	}
	// Compact the queue once its consumed head dominates.
	if e.qhead > 64 && e.qhead*2 > len(e.queue) {
		n := copy(e.queue, e.queue[e.qhead:])
		clear(e.queue[n:])
		e.queue = e.queue[:n]
		e.qhead = 0
	}
}

// expireTarget judges t's pending requests that waited longer than the
// timeout at now. Pending requests are in time order.
func (e *engine) expireTarget(t *target, now int64) {
	n := 0
	for n < len(t.pending) && t.pending[n].ts+e.cfg.timeout < now {
		if pd := t.pending[n]; !pd.probe { // an unanswered probe means the address is free
			e.unanswered(t, pd)
		}
		n++
	}
	if n > 0 {
		t.pending = append(t.pending[:0], t.pending[n:]...)
	}
}

func (e *engine) unanswered(t *target, pd pending) {
	t.unanswered++
	if r := t.recent; r != nil {
		r.unans[r.unansN%len(r.unans)] = pd.ts
		r.unansN++
	}
	t.tl.add(e.first, pd.ts, tlUnanswered)
	ep := t.open
	if ep == nil {
		t.episodesN++
		if ep = t.spare; ep != nil {
			t.spare = nil
			*ep = episode{start: pd.ts, askers: ep.askers[:0]}
		} else {
			ep = &episode{start: pd.ts}
		}
		t.open = ep
		if t.lastReply.ok && t.lastReply.ts <= pd.ts {
			ep.lastReplyBefore = t.lastReply
		}
	}
	ep.end = pd.ts
	ep.count++
	if pd.unicast {
		ep.unicast++
		t.unansUnicast++
	}
	ep.ev.add(pd.ref)
	for i := range ep.askers {
		if ep.askers[i].ip == pd.sender {
			ep.askers[i].count++
			return
		}
	}
	if len(ep.askers) < maxAskers {
		if len(ep.askers) == cap(ep.askers) && len(ep.askers) > 0 {
			ep.askers = slices.Grow(ep.askers, maxAskers-len(ep.askers)) // as the episodes
		}
		ep.askers = append(ep.askers, asker{ip: pd.sender, mac: pd.smac, count: 1})
	}
}

// finish flushes state at the end of the input, end (Unix ns; the last
// packet if it is later): requests older than the timeout at end are
// unanswered; younger ones stay undecided.
func (e *engine) finish(end int64) {
	if end > e.now {
		e.now = end
	}
	e.expire(e.now)
	for _, t := range e.targets {
		e.expireTarget(t, e.now)
		for _, pd := range t.pending {
			if !pd.probe {
				t.undecided++
			}
		}
	}
	for _, s := range e.senders {
		s.closeSecond(e.cfg.stormRate)
		s.closeStorm()
	}
}

func (e *engine) bind(t *target, mac MAC, ts int64, ref Ref, kind Kind) {
	if mac.IsZero() {
		return
	}
	idx, existed := -1, false
	for i := range t.macs {
		if t.macs[i].mac == mac {
			idx, existed = i, true
			break
		}
	}
	if idx < 0 {
		if len(t.macs) < maxMACs {
			t.macs = append(t.macs, macSeen{mac: mac, first: ts, ref: ref})
			idx = len(t.macs) - 1
		}
	}
	if idx >= 0 {
		t.macs[idx].last = ts
		t.macs[idx].count++
		if kind == KindReply && !t.macs[idx].replied {
			t.macs[idx].replied = true
			t.macs[idx].ref = ref // the first reply, the claim's evidence
		}
	}
	if !t.hasMAC {
		t.mac, t.hasMAC = mac, true
		return
	}
	if mac == t.mac {
		return
	}
	t.changes++
	// Returning to a MAC held before (A→B→A) is a flip-flop.
	if existed {
		t.flips++
		t.noteConflict(ts)
	}
	c := change{ts: ts, from: t.mac, to: mac, ref: ref, kind: kind}
	if len(t.changeLog) < maxChanges {
		t.changeLog = append(t.changeLog, c)
	} else {
		t.changeLog[len(t.changeLog)-1] = c
	}
	t.mac = mac
}

func (e *engine) gratuitous(t *target, p *Packet, ref Ref) {
	t.gratEv.add(ref)
	if !slices.Contains(t.gratMACs, p.SenderMAC) && len(t.gratMACs) < maxGratMACs {
		t.gratMACs = append(t.gratMACs, p.SenderMAC)
	}
}

func (e *engine) mismatch(ts int64, p *Packet, ref Ref) {
	k := [2]MAC{p.EthSrc, p.SenderMAC}
	m, ok := e.mismatches[k]
	if !ok {
		if len(e.mismatches) >= maxMismatchK {
			return
		}
		m = &mismatch{eth: p.EthSrc, arp: p.SenderMAC, ip: p.SenderIP, first: ts}
		e.mismatches[k] = m
	}
	m.last = ts
	m.ev.add(ref)
}

func (e *engine) senderRate(ts int64, p *Packet, ref Ref) {
	mac := p.EthSrc
	if mac.IsZero() {
		mac = p.SenderMAC
	}
	slot := int(mac[5]^mac[3]<<1^mac[4]) % scacheSize
	s := e.scache[slot]
	ok := s != nil && s.mac == mac
	if !ok {
		s, ok = e.senders[mac]
	}
	if !ok {
		if len(e.senders) >= e.cfg.maxTargets {
			e.lostSenders++
			return
		}
		s = &sender{mac: mac, ip: p.SenderIP, sec: ts / 1e9}
		e.senders[mac] = s
	}
	e.scache[slot] = s
	s.requests++
	sec := ts / 1e9
	if sec != s.sec {
		s.closeSecond(e.cfg.stormRate)
		if s.cur != nil && sec > s.sec+1 {
			s.closeStorm()
		}
		s.sec, s.cnt = sec, 0
	}
	s.cnt++
	if s.cnt >= e.cfg.stormRate {
		if s.cur == nil {
			s.stormsN++
			if s.cur = s.spare; s.cur != nil {
				s.spare = nil
				*s.cur = storm{start: sec, end: sec}
			} else {
				s.cur = &storm{start: sec, end: sec}
			}
		}
		s.cur.ev.add(ref)
	}
}

// closeSecond accounts the finished one-second window.
func (s *sender) closeSecond(rate int) {
	if s.cnt >= rate && s.cur != nil {
		s.cur.end = s.sec
		s.cur.packets += uint64(s.cnt)
		s.cur.peak = max(s.cur.peak, s.cnt)
	} else if s.cur != nil {
		s.closeStorm()
	}
	s.cnt = 0
}

func (s *sender) closeStorm() {
	if s.cur == nil {
		return
	}
	if len(s.storms) < maxStorms {
		s.storms = append(s.storms, *s.cur)
	} else {
		s.storms[len(s.storms)-1] = *s.cur
	}
	s.spare, s.cur = s.cur, nil
}
