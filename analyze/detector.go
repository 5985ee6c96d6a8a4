package analyze

import (
	"net/netip"
	"sync"
	"time"
)

// DetectorConfig bounds a Detector.
type DetectorConfig struct {
	// ReplyTimeout is how long a request may wait before it counts as
	// unanswered. Default 1s.
	ReplyTimeout time.Duration
	// MaxAddresses caps the IP addresses tracked. When full, the least
	// recently active half without pending requests is evicted. Default 4096.
	MaxAddresses int
}

// Detector runs the report's detectors incrementally on a live packet
// stream, for triggers such as "N unanswered requests for a watched IP within
// a window" (arp-unanswered) or "flip-flop or duplicate for an IP"
// (arp-conflict). It implements trigger.Detector.
//
// Memory is bounded: at most MaxAddresses addresses, each with a fixed-size
// history (the last 64 unanswered request times, the last 16 conflict times,
// up to 8 MACs, a bounded pending-request list), plus a per-sender table
// reset when it reaches MaxAddresses entries.
//
// Observe and the query methods may be called from different goroutines.
// Times are capture timestamps; queries take "now" from the same clock so
// that tests can inject one.
type Detector struct {
	mu  sync.Mutex
	eng *engine
	pkt Packet
}

// NewDetector returns an empty detector. It starts nothing.
func NewDetector(cfg DetectorConfig) *Detector {
	if cfg.ReplyTimeout <= 0 {
		cfg.ReplyTimeout = time.Second
	}
	if cfg.MaxAddresses <= 0 {
		cfg.MaxAddresses = 4096
	}
	return &Detector{eng: newEngine(engineConfig{
		timeout:    int64(cfg.ReplyTimeout),
		stormRate:  1 << 30, // storms are a report matter, not a trigger
		maxTargets: cfg.MaxAddresses,
		evict:      true,
		recent:     true,
	})}
}

// Observe feeds one Ethernet frame captured at ts. Frames that are not ARP
// or NDP are ignored; the frame is not retained.
func (d *Detector) Observe(ts time.Time, frame []byte) {
	d.ObserveLink(ts, LinkEthernet, frame)
}

// ObserveLink is Observe for a frame of the given LINKTYPE_* (Ethernet,
// Linux cooked v1/v2).
func (d *Detector) ObserveLink(ts time.Time, link int, frame []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if decode(link, frame, &d.pkt) != errNone {
		return
	}
	if len(d.eng.senders) >= d.eng.cfg.maxTargets {
		clear(d.eng.senders)
	}
	d.eng.observe(ts.UnixNano(), &d.pkt, Ref{})
}

// Unanswered reports requests for ip (on any VLAN) sent in (now-window, now]
// that went unanswered: how many, and the first and last of them. Requests
// older than the reply timeout at now count as unanswered even if no packet
// has arrived since. At most the last 64 unanswered requests per address are
// remembered.
func (d *Detector) Unanswered(ip netip.Addr, now time.Time, window time.Duration) (n int, first, last time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	nowNS := now.UnixNano()
	d.eng.expire(nowNS)
	from := nowNS - int64(window)
	for k, t := range d.eng.targets {
		if k.ip != ip {
			continue
		}
		d.eng.expireTarget(t, nowNS)
		r := t.recent
		cnt := min(r.unansN, len(r.unans))
		for i := range cnt {
			x := r.unans[i]
			if x <= from || x > nowNS {
				continue
			}
			n++
			if first.IsZero() || x < first.UnixNano() {
				first = time.Unix(0, x)
			}
			if last.IsZero() || x > last.UnixNano() {
				last = time.Unix(0, x)
			}
		}
	}
	return n, first, last
}

// LastReply reports the last reply seen for ip (on any VLAN) and the MAC it
// came from; the time is zero if there was none.
func (d *Detector) LastReply(ip netip.Addr) (time.Time, string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var at int64
	var mac MAC
	for k, t := range d.eng.targets {
		if k.ip == ip && t.lastReply.ok && t.lastReply.ts > at {
			at, mac = t.lastReply.ts, t.lastReply.mac
		}
	}
	if at == 0 {
		return time.Time{}, ""
	}
	return time.Unix(0, at), mac.String()
}

// Conflict reports flip-flops (A→B→A), duplicate answers (two MACs
// answering one request), answered RFC 5227 probes and unsolicited
// replies claiming ip for another MAC than the one holding it, since the
// given time: how many (of the last 16 remembered), the latest, and the MACs
// seen claiming ip (up to 8).
func (d *Detector) Conflict(ip netip.Addr, since time.Time) (n int, last time.Time, macs []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := since.UnixNano()
	for k, t := range d.eng.targets {
		if k.ip != ip {
			continue
		}
		r := t.recent
		cnt := min(r.conflictN, len(r.conflict))
		for i := range cnt {
			x := r.conflict[i]
			if x < s {
				continue
			}
			n++
			if last.IsZero() || x > last.UnixNano() {
				last = time.Unix(0, x)
			}
		}
		for _, m := range t.macs {
			macs = append(macs, m.mac.String())
		}
	}
	return n, last, macs
}

// Unsolicited reports the latest reply since the given time that nobody
// asked for and that claimed ip for another MAC than the one holding it
// (ARP spoofing or a takeover): the claiming MAC and the one that held ip.
// ok is false if there was none.
func (d *Detector) Unsolicited(ip netip.Addr, since time.Time) (at time.Time, mac, held string, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := since.UnixNano()
	for k, t := range d.eng.targets {
		if k.ip != ip {
			continue
		}
		for _, u := range t.unsolLog {
			if u.held.IsZero() || u.ts < s || (ok && u.ts <= at.UnixNano()) {
				continue
			}
			at, mac, held, ok = time.Unix(0, u.ts), u.mac.String(), u.held.String(), true
		}
	}
	return at, mac, held, ok
}
