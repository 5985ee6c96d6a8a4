package analyze

import (
	"cmp"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"
)

// verdict turns the per-side state into ranked findings.
func verdict(rep *Report, sides []*sideRun) Verdict {
	var fs []Finding
	for _, s := range sides {
		if x := mergeNever(s.findings(rep.Trigger)); fs == nil && len(x) > 0 {
			fs = x // one side: no copy
		} else {
			fs = append(fs, x...)
		}
	}
	for _, p := range rep.TwoSided {
		for _, f := range p.Exchanges {
			fs = append(fs, bumpTrigger(pairFinding(p, f), rep.Trigger))
		}
	}
	targets := triggerIPs(rep.Trigger)
	for i := range fs {
		fs[i].class = triggerClass(&fs[i], rep.Trigger, targets)
	}
	slices.SortStableFunc(fs, func(a, b Finding) int {
		if c := cmp.Compare(a.class, b.class); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		if c := a.First.Compare(b.First); c != 0 {
			return c
		}
		return cmp.Compare(a.IP, b.IP)
	})
	const maxFindings = 100
	if len(fs) > maxFindings {
		fs = fs[:maxFindings]
	}
	for i := range fs {
		fs[i].Rank = i + 1
		fs[i].Severity = severity(fs[i].Score)
	}
	v := Verdict{Findings: fs}
	if fs == nil {
		v.Findings = []Finding{}
	}
	var resolution uint64
	for _, s := range sides {
		resolution += s.eng.resolution
	}
	notRead := notDecodedAll(rep.Sides)
	switch {
	case len(fs) == 0 || fs[0].Score < 50:
		var req, ans uint64
		for _, s := range sides {
			for _, t := range s.eng.targets {
				req += t.requests
				ans += t.answered
			}
		}
		switch {
		case notRead != "":
			// Never a bare "no failure" about frames that were not read.
			v.Summary = fmt.Sprintf("No failure found in the %s read (%s, %s answered); %s.",
				plural(resolution, "ARP/NDP frame"), plural(req, "request"), count(ans), notRead)
		case resolution == 0:
			v.Summary = "No ARP or NDP frames in this capture: nothing to judge."
		default:
			v.Summary = fmt.Sprintf("No neighbor-resolution failure found: %s, %s answered.", plural(req, "request"), count(ans))
		}
		if len(fs) > 0 {
			v.Summary += " Informational findings follow."
		}
	default:
		v.Summary = fs[0].Summary
		if len(targets) > 0 && fs[0].class != 0 {
			v.Summary = quietTarget(sides, targets) + v.Summary
		}
		if notRead != "" {
			v.Summary += " Also, " + notRead + "."
		}
	}
	return v
}

// notDecodedAll is the sentence about frames not decoded, over all sides.
func notDecodedAll(sides []SideReport) string {
	var all []NotDecoded
	for _, s := range sides {
		for _, x := range s.NotDecoded {
			i := slices.IndexFunc(all, func(y NotDecoded) bool { return y.Cause == x.Cause })
			if i < 0 {
				all = append(all, NotDecoded{Kind: x.Kind, Cause: x.Cause})
				i = len(all) - 1
			}
			all[i].Count += x.Count
		}
	}
	slices.SortStableFunc(all, func(a, b NotDecoded) int { return cmp.Compare(b.Count, a.Count) })
	return notDecodedSentence(all)
}

// mergeNever folds many "never answered" findings of one side (a scan, a
// storm into unused addresses, a stale configuration) into one.
func mergeNever(fs []Finding) []Finding {
	const many = 5
	var never []Finding
	for _, f := range fs {
		if f.never {
			never = append(never, f)
		}
	}
	if len(never) <= many {
		return fs
	}
	out := fs[:0:0]
	for _, f := range fs {
		if !f.never {
			out = append(out, f)
		}
	}
	m := Finding{Kind: FindUnanswered, Side: never[0].Side, Score: 55, First: never[0].First, Last: never[0].Last}
	var ips []string
	for i, f := range never {
		m.Count += f.Count
		if f.First.Before(m.First) {
			m.First = f.First
		}
		if f.Last.After(m.Last) {
			m.Last = f.Last
		}
		if i < 3 {
			m.Evidence = append(m.Evidence, f.Evidence...)
		}
		if i < 8 {
			ips = append(ips, f.IP)
		}
	}
	list := strings.Join(ips, ", ")
	if len(never) > len(ips) {
		list += ", …"
	}
	m.Title = fmt.Sprintf("%d addresses never answered", len(never))
	m.Summary = fmt.Sprintf("%d addresses never answered in this capture (%s): %s unanswered from %s to %s. "+
		"Something asks for hosts that are not there: a scan, a storm, or a stale configuration. Check whether any of them should be up.",
		len(never), list, plural(m.Count, "request"), clock(m.First.UnixNano()), clock(m.Last.UnixNano()))
	return append(out, m)
}

func severity(score int) string {
	switch {
	case score >= 80:
		return SevLikely
	case score >= 50:
		return SevPossible
	}
	return SevInfo
}

func clamp(n int) int { return max(0, min(100, n)) }

// wellBefore is how long before the trigger a finding must have ended to
// be told in the past tense and ranked below what was going on at T.
const wellBefore = 10 * time.Second

// nearTrigger reports whether [first,end] touches the seconds before the
// trigger (or the few after it).
func nearTrigger(trig *Mark, first, end time.Time) bool {
	if trig == nil {
		return false
	}
	return !end.Before(trig.Time.Add(-wellBefore)) && !first.After(trig.Time.Add(5*time.Second))
}

// triggerIPs are the addresses a trigger's target names: an IP, host:port,
// a URL's host, or a comma list (a neighbor check). A host name, an
// HAProxy server or a command names none.
func triggerIPs(trig *Mark) []netip.Addr {
	if trig == nil || trig.Target == "" {
		return nil
	}
	var out []netip.Addr
	for _, part := range strings.Split(trig.Target, ",") {
		part = strings.TrimSpace(part)
		if u, err := url.Parse(part); err == nil && u.Host != "" {
			part = u.Hostname()
		} else if h, _, err := net.SplitHostPort(part); err == nil {
			part = h
		}
		if a, err := netip.ParseAddr(part); err == nil {
			out = append(out, a.WithZone("").Unmap())
		}
	}
	return out
}

// triggerClass orders findings before their score: those about the
// trigger's target first, then what was going on at the trigger, then the
// rest (what ended well before it, or without a trigger).
func triggerClass(f *Finding, trig *Mark, targets []netip.Addr) int {
	if trig == nil {
		return 0
	}
	if a, err := netip.ParseAddr(f.IP); err == nil && f.Score >= 30 && slices.Contains(targets, a.Unmap()) {
		return 0
	}
	end := f.end
	if end.IsZero() {
		end = f.Last
	}
	if f.Score >= 50 && nearTrigger(trig, f.First, end) {
		return 1
	}
	return 2
}

// quietTarget says that nothing was found about the trigger's target,
// before the summary of what was: "Nothing in the capture explains the
// trigger's target 10.0.0.5: 12 requests, 12 answered. "
func quietTarget(sides []*sideRun, targets []netip.Addr) string {
	var req, ans, seen uint64
	for _, s := range sides {
		for k, t := range s.eng.targets {
			if slices.Contains(targets, k.ip) {
				req += t.requests
				ans += t.answered
				seen += t.requests + t.replies + t.announcements + t.gratReplies
			}
		}
	}
	names := make([]string, 0, len(targets))
	for _, a := range targets {
		names = append(names, a.String())
	}
	who := strings.Join(names, ", ")
	if seen == 0 {
		return fmt.Sprintf("The trigger's target %s does not appear in the capture's ARP/NDP. ", who)
	}
	return fmt.Sprintf("Nothing in the capture explains the trigger's target %s (%s, %s answered). ", who, plural(req, "request"), count(ans))
}

func (s *sideRun) findings(trig *Mark) []Finding {
	keys := make([]tkey, 0, len(s.eng.targets))
	n := 0 // about as many findings as addresses of interest: room for them at once
	for k, t := range s.eng.targets {
		keys = append(keys, k)
		if interest(t) > 0 {
			n++
		}
	}
	fs := make([]Finding, 0, n+1)
	slices.SortFunc(keys, func(a, b tkey) int {
		if c := a.ip.Compare(b.ip); c != 0 {
			return c
		}
		return cmp.Compare(a.vlan, b.vlan)
	})
	for _, k := range keys {
		t := s.eng.targets[k]
		base := Finding{Side: s.in.name, IP: k.ip.String(), VLAN: vlanString(k.vlan)}
		if t.unanswered > 0 {
			fs = append(fs, s.unansweredFinding(base, t, trig))
		}
		if t.unansUnicast > 0 && t.unansUnicast == t.unanswered && t.ansBroadcast > 0 && t.ansUnicast == 0 {
			f := base
			f.Kind, f.Score, f.Count = FindUnicastStale, 70, t.unansUnicast
			f.Title = fmt.Sprintf("Unicast refresh for %s unanswered, broadcast answered", k.ip)
			f.Summary = fmt.Sprintf("%s unicast %s for %s got no reply, while %s were answered. "+
				"The asker's cached MAC for %s is wrong or the switch forwards that MAC to the wrong port.",
				count(t.unansUnicast), plural2(t.unansUnicast, "request", "requests"), k.ip, plural(t.ansBroadcast, "broadcast request"), k.ip)
			f.First, f.Last = ts(t.first), ts(t.last)
			fs = append(fs, f)
		}
		if t.dups > 0 {
			d := t.dupLog[0]
			f := base
			f.Kind, f.Score, f.Count = FindDuplicate, 90, t.dups
			f.MACs = []string{d.a.String(), d.b.String()}
			f.Title = fmt.Sprintf("Duplicate address: two machines answer for %s", k.ip)
			f.Summary = fmt.Sprintf("Two machines answer for %s: %s and %s both replied to the same request from %s (%s, first at %s). "+
				"Traffic for %s goes to whichever answered last, so connections break at random.",
				k.ip, d.a, d.b, addrString(d.to), times(t.dups), clock(d.ts), k.ip)
			f.First, f.Last = ts(d.ts), ts(t.dupLog[len(t.dupLog)-1].ts)
			for _, x := range t.dupLog[:min(len(t.dupLog), 3)] {
				f.Evidence = append(f.Evidence, Evidence{Side: s.in.name, File: s.fileName(x.refB), Frames: []uint64{x.refA.Frame, x.refB.Frame}, Total: 2, Note: "two replies to one request"})
			}
			fs = append(fs, bumpTrigger(f, trig))
		}
		if t.conflicts > 0 {
			d := t.conflictLog[0]
			f := base
			f.Kind, f.Score, f.Count = FindProbeConflict, 85, t.conflicts
			f.MACs = []string{d.a.String(), d.b.String()}
			f.Title = fmt.Sprintf("Address conflict on %s during probing", k.ip)
			f.Summary = fmt.Sprintf("A host (%s) probing whether %s is free (RFC 5227 / duplicate address detection) was answered by %s: the address is already in use (%s, first at %s).",
				d.a, k.ip, d.b, times(t.conflicts), clock(d.ts))
			f.First, f.Last = ts(d.ts), ts(t.conflictLog[len(t.conflictLog)-1].ts)
			f.Evidence = []Evidence{{Side: s.in.name, File: s.fileName(d.refB), Frames: []uint64{d.refA.Frame, d.refB.Frame}, Total: 2, Note: "probe and the answer"}}
			fs = append(fs, bumpTrigger(f, trig))
		}
		if gw := slices.Contains(s.gateways, k.ip); t.spoofs > 0 || gw && t.unsolicited > 0 {
			fs = append(fs, s.spoofFinding(base, t, gw, trig))
		}
		if t.changes > 0 {
			fs = append(fs, s.macFinding(base, t, trig))
		}
		if n := t.announcements + t.gratReplies; n > 0 {
			f := base
			f.Kind, f.Score, f.Count = FindGratuitous, 20, n
			for _, m := range t.gratMACs {
				f.MACs = append(f.MACs, m.String())
			}
			f.Title = fmt.Sprintf("Gratuitous %s for %s", word(t.proto, "ARP", "advertisements"), k.ip)
			f.Summary = fmt.Sprintf("%s was announced %s (%s, %s) by %s. Failover software (keepalived, heartbeat, VRRP) announces a moved address this way.",
				k.ip, times(n), plural(t.announcements, "announcement"), plural(t.gratReplies, "gratuitous reply"), strings.Join(f.MACs, " and "))
			if linkLocal4.Contains(k.ip) {
				f.Summary = fmt.Sprintf("%s was announced %s (%s, %s) by %s. It is an IPv4 link-local address (RFC 3927): a host that got no DHCP lease configured it itself.",
					k.ip, times(n), plural(t.announcements, "announcement"), plural(t.gratReplies, "gratuitous reply"), strings.Join(f.MACs, " and "))
			}
			if len(t.gratMACs) > 1 {
				f.Score = 45
				f.Summary += " More than one MAC announced it: check which node should own the address."
			}
			f.First, f.Last = ts(t.first), ts(t.last)
			f.Evidence = s.evidence(&t.gratEv, "gratuitous packets")
			fs = append(fs, f)
		}
		if t.lat.n >= 5 {
			p50, p99 := t.lat.quantile(0.5), t.lat.quantile(0.99)
			if p99 >= int64(200*time.Millisecond) {
				f := base
				f.Kind, f.Score, f.Count = FindLatency, 35, t.lat.n
				f.Title = fmt.Sprintf("Slow replies from %s", k.ip)
				f.Summary = fmt.Sprintf("%s answers, but slowly: p50 %s, p99 %s, max %s over %s.", k.ip, dur(p50), dur(p99), dur(t.lat.max), plural(t.lat.n, "reply"))
				f.First, f.Last = ts(t.first), ts(t.last)
				fs = append(fs, f)
			}
		}
	}
	fs = append(fs, s.senderFindings(trig)...)
	fs = append(fs, s.claimFindings(keys)...)
	if f, ok := s.bogonFinding(keys); ok {
		fs = append(fs, f)
	}
	return fs
}

var linkLocal4 = netip.MustParsePrefix("169.254.0.0/16")

// spoofFinding: unsolicited replies claimed ip for another MAC than the one
// that held it, or claimed a default gateway's address.
func (s *sideRun) spoofFinding(f Finding, t *target, gw bool, trig *Mark) Finding {
	u := t.unsolLog[0]
	for _, x := range t.unsolLog {
		if !x.held.IsZero() {
			u = x
			break
		}
	}
	ip := t.key.ip
	f.Kind, f.Score, f.Count = FindSpoof, 85, max(t.spoofs, 1)
	if gw && t.spoofs == 0 {
		f.Count, f.Score = t.unsolicited, 60
	}
	held := "no MAC seen before"
	if !u.held.IsZero() {
		held = u.held.String() + ", which held it until then"
		f.MACs = []string{u.held.String(), u.mac.String()}
	} else {
		f.MACs = []string{u.mac.String()}
	}
	what := "address"
	if gw {
		what = "default gateway's address"
	}
	f.Title = fmt.Sprintf("Unsolicited ARP reply claims the %s %s for %s", what, ip, u.mac)
	f.Summary = fmt.Sprintf("%s claimed %s in a reply to %s at %s that nobody had asked for (no request from %s for %s within %s); before it: %s. "+
		"%s unsolicited %s for %s in all. ARP spoofing (a man in the middle) takes an address over this way; a failover that answers instead of announcing does too (arpwatch: changed ethernet address).",
		u.mac, ip, addrString(u.to), clock(u.ts), addrString(u.to), ip, dur(s.eng.cfg.timeout), held,
		count(t.unsolicited), plural2(t.unsolicited, "reply", "replies"), ip)
	if gw {
		f.Summary += fmt.Sprintf(" %s is a default gateway: hosts that believe the reply send their outside traffic to %s.", ip, u.mac)
	}
	f.First, f.Last = ts(t.unsolLog[0].ts), ts(t.unsolLog[len(t.unsolLog)-1].ts)
	var ev Evidence
	for _, x := range t.unsolLog[:min(len(t.unsolLog), 6)] {
		if ev.File == "" {
			ev = Evidence{Side: s.in.name, File: s.fileName(x.ref), Note: "unsolicited replies"}
		}
		if s.fileName(x.ref) == ev.File {
			ev.Frames = append(ev.Frames, x.ref.Frame)
		}
	}
	ev.Total = uint64(len(ev.Frames))
	f.Evidence = []Evidence{ev}
	return bumpTrigger(f, trig)
}

// claimFindings: one MAC answering for several IPv4 addresses (on one
// VLAN), found from the MACs each address was answered by.
func (s *sideRun) claimFindings(keys []tkey) []Finding {
	type claims struct {
		ips   []netip.Addr
		n     int
		count uint64
		first int64
		refs  []Ref
	}
	type key struct {
		mac  MAC
		vlan uint32
	}
	byMAC := map[key]*claims{}
	var order []key
	for _, k := range keys { // in address order
		if !k.ip.Is4() {
			continue
		}
		for _, m := range s.eng.targets[k].macs {
			if !m.replied {
				continue
			}
			mk := key{m.mac, k.vlan}
			c := byMAC[mk]
			if c == nil {
				c = &claims{first: m.first}
				byMAC[mk] = c
				order = append(order, mk)
			}
			c.n++
			c.count += m.count
			c.first = min(c.first, m.first)
			if len(c.ips) < maxClaimIPs {
				c.ips = append(c.ips, k.ip)
				c.refs = append(c.refs, m.ref)
			}
		}
	}
	slices.SortFunc(order, func(a, b key) int {
		if c := slices.Compare(a.mac[:], b.mac[:]); c != 0 {
			return c
		}
		return cmp.Compare(a.vlan, b.vlan)
	})
	var fs []Finding
	for _, mk := range order {
		c := byMAC[mk]
		if c.n < 2 {
			continue
		}
		ips := make([]string, 0, len(c.ips)+1)
		for _, a := range c.ips {
			ips = append(ips, a.String())
		}
		if c.n > len(c.ips) {
			ips = append(ips, "…")
		}
		f := Finding{Side: s.in.name, Kind: FindMultiIP, Score: 25, Count: c.count, VLAN: vlanString(mk.vlan), MACs: []string{mk.mac.String()}}
		f.Title = fmt.Sprintf("%s answers for %d addresses", mk.mac, c.n)
		f.Summary = fmt.Sprintf("%s answered ARP for %d addresses (%s). Proxy ARP or a router answering for the hosts behind it does this, and so does a host with several addresses; if the addresses belong to other machines, it is ARP spoofing.",
			mk.mac, c.n, strings.Join(ips, ", "))
		slices.SortFunc(c.refs, func(a, b Ref) int {
			if x := cmp.Compare(a.File, b.File); x != 0 {
				return x
			}
			return cmp.Compare(a.Frame, b.Frame)
		})
		var ev evidence
		for _, r := range c.refs {
			ev.add(r)
		}
		f.Evidence = s.evidence(&ev, "a reply for each address")
		f.First, f.Last = ts(c.first), ts(c.first)
		fs = append(fs, f)
	}
	return fs
}

// bogonFinding: addresses claimed on the link that are in none of the
// host's subnets (known from a bundle's netstate.json).
func (s *sideRun) bogonFinding(keys []tkey) (Finding, bool) {
	if len(s.in.prefixes) == 0 {
		return Finding{}, false
	}
	var ips []string
	var n, frames uint64
	f := Finding{Side: s.in.name, Kind: FindBogon, Score: 40}
	for _, k := range keys {
		t := s.eng.targets[k]
		if !k.ip.Is4() || k.ip.IsUnspecified() || linkLocal4.Contains(k.ip) || len(t.macs) == 0 {
			continue // only addresses someone claimed
		}
		if slices.ContainsFunc(s.in.prefixes, func(p netip.Prefix) bool { return p.Contains(k.ip) }) {
			continue
		}
		n++
		for _, m := range t.macs {
			frames += m.count
		}
		if len(ips) < 8 {
			ips = append(ips, k.ip.String())
		}
		if f.First.IsZero() || ts(t.first).Before(f.First) {
			f.First = ts(t.first)
		}
		if ts(t.last).After(f.Last) {
			f.Last = ts(t.last)
		}
	}
	if n == 0 {
		return Finding{}, false
	}
	if n > uint64(len(ips)) {
		ips = append(ips, "…")
	}
	subnets := make([]string, 0, len(s.in.prefixes))
	for _, p := range s.in.prefixes {
		subnets = append(subnets, p.String())
	}
	f.Count = frames
	f.Title = fmt.Sprintf("%s outside this host's subnets claimed on the link", plural(n, "address"))
	f.Summary = fmt.Sprintf("%s outside this host's subnets (%s) %s claimed in ARP: %s (arpwatch: bogon). A host configured for another network, or a VLAN that leaks into this one.",
		plural(n, "address"), strings.Join(subnets, ", "), plural2(n, "was", "were"), strings.Join(ips, ", "))
	return f, true
}

func bumpTrigger(f Finding, trig *Mark) Finding {
	end := f.end
	if end.IsZero() {
		end = f.Last
	}
	if nearTrigger(trig, f.First, end) {
		f.Score = clamp(f.Score + 5)
		f.Summary += " This was going on shortly before the trigger."
	}
	return f
}

func (s *sideRun) unansweredFinding(f Finding, t *target, trig *Mark) Finding {
	eps := t.episodeList()
	open := t.open != nil
	last := eps[len(eps)-1]
	f.Kind, f.Count = FindUnanswered, t.unanswered
	f.First, f.Last = ts(eps[0].start), ts(last.end)
	proto := word(t.proto, "ARP", "neighbor solicitations")
	span := last.end - last.start
	askers := askerList(last.askers)
	what := fmt.Sprintf("%s from %s unanswered", plural(last.count, "request"), askers)
	if span > 0 {
		what += " over " + dur(span)
	}
	ip := t.key.ip
	switch {
	case !last.lastReplyBefore.ok && t.replies == 0:
		f.Title = fmt.Sprintf("%s never answered %s", ip, proto)
		f.Summary = fmt.Sprintf("%s never answered %s in this capture: %s (%s–%s).", ip, proto, what, clock(last.start), clock(last.end))
		f.Score, f.never = 60, true
		if last.count < 3 {
			f.Score = 30 // a single probe of an unused address is not an outage
		}
	case open:
		f.Title = fmt.Sprintf("%s stopped answering %s", ip, proto)
		lr := last.lastReplyBefore
		f.Summary = fmt.Sprintf("%s stopped answering %s at %s; %s, until the capture ends.", ip, proto, clock(last.start), what)
		if lr.ok {
			f.Summary += fmt.Sprintf(" The last reply was at %s from %s (%s frame %d).", clock(lr.ts), lr.mac, s.fileName(lr.ref), lr.ref.Frame)
		}
		f.Score = 90
	case trig != nil && ts(last.recovered.ts).Before(trig.Time.Add(-wellBefore)):
		// Over well before the trigger: told in the past, ranked below
		// what was going on at T.
		f.end = ts(last.recovered.ts)
		f.Title = fmt.Sprintf("%s stopped answering %s for %s, and recovered before the trigger", ip, proto, dur(max(span, 1)))
		f.Summary = fmt.Sprintf("%s stopped answering %s at %s and recovered at %s (%s), %s before the trigger: %s.",
			ip, proto, clock(last.start), clock(last.recovered.ts), last.recovered.mac,
			dur(trig.Time.UnixNano()-last.recovered.ts), what)
		f.Score = 50
	default:
		f.end = ts(last.recovered.ts)
		f.Title = fmt.Sprintf("%s did not answer %s for %s", ip, proto, dur(max(span, 1)))
		if span == 0 {
			f.Title = fmt.Sprintf("%s left %s unanswered", ip, plural(last.count, "request"))
		}
		f.Summary = fmt.Sprintf("%s did not answer %s from %s to %s: %s. It answered again at %s from %s.",
			ip, proto, clock(last.start), clock(last.end), what, clock(last.recovered.ts), last.recovered.mac)
		f.Score = 60 + int(min(last.count, 20))
		if f.Score > 80 {
			f.Score = 80
		}
	}
	if last.unicast > 0 {
		f.Summary += fmt.Sprintf(" %s of them %s unicast (a refresh of an entry the asker already had).", count(last.unicast), plural2(last.unicast, "was", "were"))
	}
	if ls := t.lastSent; ls.ok && ls.ts > last.start {
		f.Summary += fmt.Sprintf(" %s itself still sent %s at %s (%s frame %d), so the host was up.", ip, word(t.proto, "ARP", "solicitations"), clock(ls.ts), s.fileName(ls.ref), ls.ref.Frame)
	}
	if open && t.undecided > 0 {
		f.Summary += fmt.Sprintf(" %s more in the last second of the capture could not be judged.", plural2(t.undecided, "One request", count(t.undecided)+" requests"))
	}
	if len(eps) > 1 {
		f.Summary += fmt.Sprintf(" This is the last of %s; %s unanswered in total.", plural(t.episodesN, "outage"), plural(t.unanswered, "request"))
	}
	for _, ep := range eps[max(0, len(eps)-3):] {
		f.Evidence = append(f.Evidence, s.evidence(&ep.ev, fmt.Sprintf("unanswered %s–%s", clock(ep.start), clock(ep.end)))...)
	}
	if lr := last.lastReplyBefore; lr.ok {
		f.Evidence = append(f.Evidence, Evidence{Side: s.in.name, File: s.fileName(lr.ref), Frames: []uint64{lr.ref.Frame}, Total: 1, Note: "last reply before"})
		f.MACs = []string{lr.mac.String()}
	}
	return bumpTrigger(f, trig)
}

func (s *sideRun) macFinding(f Finding, t *target, trig *Mark) Finding {
	f.Count = t.changes
	for _, m := range t.macs {
		f.MACs = append(f.MACs, m.mac.String())
	}
	c0, cl := t.changeLog[0], t.changeLog[len(t.changeLog)-1]
	f.First, f.Last = ts(c0.ts), ts(cl.ts)
	ip := t.key.ip
	if t.flips > 0 {
		f.Kind, f.Score = FindFlipFlop, 85
		f.Title = fmt.Sprintf("%s flip-flops between %s", ip, plural(uint64(len(t.macs)), "MAC"))
		f.Summary = fmt.Sprintf("%s moved between %s %s (%s to %s). Two machines claim the address — typically both nodes of an HA pair holding a shared IP — and neighbors follow whichever spoke last (arpwatch: flip flop).",
			ip, strings.Join(f.MACs, " and "), times(t.changes), clock(c0.ts), clock(cl.ts))
	} else {
		f.Kind, f.Score = FindMACChange, 55
		f.Title = fmt.Sprintf("%s moved to a new MAC", ip)
		f.Summary = fmt.Sprintf("%s moved from %s to %s at %s (by %s). Neighbors that cached %s keep sending there until they refresh; a failover or NIC swap does this (arpwatch: changed ethernet address).",
			ip, c0.from, c0.to, clock(c0.ts), c0.kind, c0.from)
	}
	for _, c := range t.changeLog[:min(len(t.changeLog), 6)] {
		if len(f.Evidence) > 0 && f.Evidence[len(f.Evidence)-1].File == s.fileName(c.ref) {
			f.Evidence[len(f.Evidence)-1].Frames = append(f.Evidence[len(f.Evidence)-1].Frames, c.ref.Frame)
			continue
		}
		f.Evidence = append(f.Evidence, Evidence{Side: s.in.name, File: s.fileName(c.ref), Frames: []uint64{c.ref.Frame}, Note: "MAC changes"})
	}
	for i := range f.Evidence {
		f.Evidence[i].Total = t.changes
	}
	return bumpTrigger(f, trig)
}

func (s *sideRun) senderFindings(trig *Mark) []Finding {
	var fs []Finding
	rate := s.eng.cfg.stormRate
	macs := make([]MAC, 0, len(s.eng.senders))
	for m := range s.eng.senders {
		macs = append(macs, m)
	}
	slices.SortFunc(macs, func(a, b MAC) int { return slices.Compare(a[:], b[:]) })
	for _, m := range macs {
		x := s.eng.senders[m]
		for _, st := range x.storms {
			f := Finding{Side: s.in.name, Kind: FindStorm, Count: st.packets, MACs: []string{m.String()}, IP: addrString(x.ip)}
			secs := st.end - st.start + 1
			f.Score = 50
			if st.peak >= 10*rate {
				f.Score = 60
			}
			f.Title = fmt.Sprintf("Request storm from %s", m)
			f.Summary = fmt.Sprintf("%s (%s) sent %s in %s from %s (peak %s/s, threshold %d/s). A storm can exhaust neighbor tables and rate limits so that real requests go unanswered.",
				m, addrString(x.ip), plural(st.packets, "request"), dur(secs*1e9), time.Unix(st.start, 0).UTC().Format("15:04:05"), count(uint64(st.peak)), rate)
			f.First, f.Last = time.Unix(st.start, 0).UTC(), time.Unix(st.end+1, 0).UTC()
			f.Evidence = s.evidence(&st.ev, "requests above the threshold")
			fs = append(fs, bumpTrigger(f, trig))
		}
	}
	keys := make([][2]MAC, 0, len(s.eng.mismatches))
	for k := range s.eng.mismatches {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]MAC) int { return cmp.Compare(s.eng.mismatches[a].first, s.eng.mismatches[b].first) })
	for _, k := range keys {
		m := s.eng.mismatches[k]
		f := Finding{Side: s.in.name, Kind: FindMismatch, Score: 30, Count: m.ev.count, IP: addrString(m.ip), MACs: []string{m.eth.String(), m.arp.String()}}
		f.Title = fmt.Sprintf("Ethernet source %s differs from sender MAC %s", m.eth, m.arp)
		f.Summary = fmt.Sprintf("%s from Ethernet source %s claim sender MAC %s for %s. Proxy ARP, VRRP/CARP and bridges that rewrite MACs do this; so does ARP spoofing. Neighbors learn %s, not the frame's source.",
			plural(m.ev.count, "frame"), m.eth, m.arp, addrString(m.ip), m.arp)
		f.First, f.Last = ts(m.first), ts(m.last)
		f.Evidence = s.evidence(&m.ev, "")
		fs = append(fs, f)
	}
	return fs
}

func pairFinding(p PairReport, x PairFailure) Finding {
	f := Finding{Kind: FindTwoSided, Score: 99, Side: x.AskerSide + " ↔ " + x.OtherSide, IP: x.Target, VLAN: x.VLAN, Count: x.Count, First: x.First, Last: x.Last, Evidence: x.Evidence}
	when := fmt.Sprintf("%s–%s", clock(x.First.UnixNano()), clock(x.Last.UnixNano()))
	n := plural(x.Count, "request")
	switch x.Class {
	case ReplyLost:
		f.Title = fmt.Sprintf("Replies from %s were sent but never arrived", x.Target)
		mac := ""
		if x.ReplyMAC != "" {
			f.MACs = []string{x.ReplyMAC}
			mac = " from " + x.ReplyMAC
		}
		f.Summary = fmt.Sprintf("Replies were sent but never arrived: %s from %s for %s (%s) reached %s, which answered%s, but no reply reached %s. "+
			"Something between the two capture points drops ARP replies toward %s (switch, bridge filter, VLAN, or NIC).",
			n, x.Asker, x.Target, when, x.OtherSide, mac, x.AskerSide, x.Asker)
	case NoReplySent:
		f.Title = fmt.Sprintf("Requests reached %s, but it sent no reply", x.Target)
		f.Summary = fmt.Sprintf("Request arrived, no reply sent: %s from %s for %s (%s) appear in %s's capture, but no reply was sent. "+
			"The host with %s ignores them: a firewall (nft/arptables arp filter), arp_ignore/arp_filter settings, the address not configured, or a stuck NIC or driver.",
			n, x.Asker, x.Target, when, x.OtherSide, x.Target)
	case NeverArrived:
		f.Title = fmt.Sprintf("Requests for %s never arrived at %s", x.Target, x.OtherSide)
		f.Summary = fmt.Sprintf("Requests never arrived: %s sent %s from %s for %s (%s) that do not appear in %s's capture. They are lost between the two capture points (switch, VLAN, cabling, or a filter).",
			x.AskerSide, n, x.Asker, x.Target, when, x.OtherSide)
		f.Score = 97
	}
	f.Summary += fmt.Sprintf(" Clock offset %s minus %s: %s.", p.Sides[1], p.Sides[0], signedDur(p.OffsetMS))
	return f
}

func askerList(as []asker) string {
	if len(as) == 1 {
		return addrString(as[0].ip)
	}
	parts := make([]string, 0, len(as))
	for _, a := range as {
		parts = append(parts, fmt.Sprintf("%s (%d)", addrString(a.ip), a.count))
	}
	return strings.Join(parts, ", ")
}

func word(p Proto, arp, ndp string) string {
	if p == ProtoNDP {
		return ndp
	}
	return arp
}

// clock formats a Unix-ns time as UTC wall clock with milliseconds.
func clock(ns int64) string { return ts(ns).Format("15:04:05.000") }

// dur formats a duration for people: "38 s", "1.5 s", "120 ms".
func dur(ns int64) string {
	d := time.Duration(ns)
	switch {
	case d >= 100*time.Second:
		return fmt.Sprintf("%d s", int64(d.Round(time.Second)/time.Second))
	case d >= 10*time.Second:
		return fmt.Sprintf("%.0f s", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.0f ms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.0f µs", float64(d)/1e3)
}

func signedDur(msv float64) string {
	if msv < 0 {
		return "-" + dur(int64(-msv*1e6))
	}
	return "+" + dur(int64(msv*1e6))
}

func count(n uint64) string {
	s := fmt.Sprint(n)
	if len(s) <= 4 {
		return s
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func plural(n uint64, one string) string {
	if n == 1 {
		return "1 " + one
	}
	if strings.HasSuffix(one, "y") && !strings.HasSuffix(one, "ay") {
		return count(n) + " " + one[:len(one)-1] + "ies"
	}
	return count(n) + " " + one + "s"
}

func plural2(n uint64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func times(n uint64) string {
	switch n {
	case 1:
		return "once"
	case 2:
		return "twice"
	}
	return count(n) + " times"
}
