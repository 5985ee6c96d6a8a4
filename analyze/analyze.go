package analyze

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"time"

	"github.com/arpbox/arpbox/internal/pcapng"
)

// Options tune an analysis. The zero value is usable.
type Options struct {
	// ReplyTimeout is how long a request may wait for its reply before it
	// counts as unanswered. Default 1s (Linux retrans_time_ms).
	ReplyTimeout time.Duration
	// StormRate is the requests per second from one sender that make a storm.
	// Default 50.
	StormRate int
	// MaxTargets caps the addresses tracked per input (memory bound).
	// Default 65536.
	MaxTargets int
	// MaxTargetsShown caps the per-address entries in the report. Addresses
	// with findings are always shown. Default 200.
	MaxTargetsShown int
	// Trigger marks the moment a failure was declared (overrides a bundle's).
	Trigger *Mark
	// Neighbor adds neighbor-state changes to the timeline.
	Neighbor []NeighborEvent
	// Gateways are default gateways: an unsolicited reply claiming one is
	// flagged whoever sent it. A bundle adds the ones its netstate.json
	// names.
	Gateways []netip.Addr
	// Progress, if set, is called now and then with bytes read and total.
	Progress func(done, total int64)
	// Logger receives debug messages; nil discards.
	Logger *slog.Logger
	// clock holds per input its host's recorded clock offset against an
	// incident's initiator, in ns (AnalyzeIncident, multihost.go).
	clock []*int64
}

func (o *Options) defaults() {
	if o.ReplyTimeout <= 0 {
		o.ReplyTimeout = time.Second
	}
	if o.StormRate <= 0 {
		o.StormRate = 50
	}
	if o.MaxTargets <= 0 {
		o.MaxTargets = 65536
	}
	if o.MaxTargetsShown <= 0 {
		o.MaxTargetsShown = 200
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// maxExchanges bounds the per-side exchange log kept for two-sided matching.
const maxExchanges = 500_000

// Analyze reads each path as one side (see the package comment for what a
// path may be), runs the detectors and returns the report. Two or more paths
// add the two-sided analysis. Unreadable or cut-short files are reported in
// the result, not returned as errors, as long as something could be read.
func Analyze(ctx context.Context, paths []string, opts Options) (*Report, error) {
	opts.defaults()
	if len(paths) == 0 {
		return nil, errNoInputs
	}
	var ins []*input
	var total int64
	names := map[string]int{}
	defer func() {
		for _, in := range ins {
			in.close()
		}
	}()
	for _, p := range paths {
		in, err := openInput(p)
		if err != nil {
			if in != nil {
				in.close()
			}
			return nil, fmt.Errorf("input %s: %w", p, err)
		}
		names[in.name]++
		if n := names[in.name]; n > 1 {
			in.name = fmt.Sprintf("%s#%d", in.name, n)
		}
		for _, s := range in.sources {
			total += s.size
		}
		ins = append(ins, in)
	}
	cfg := engineConfig{
		timeout:      int64(opts.ReplyTimeout),
		stormRate:    opts.StormRate,
		maxTargets:   opts.MaxTargets,
		exchanges:    len(ins) > 1,
		maxExchanges: maxExchanges,
	}
	rep := &Report{
		Schema:   Schema,
		Settings: Settings{ReplyTimeoutMS: opts.ReplyTimeout.Milliseconds(), StormRate: opts.StormRate},
		Trigger:  cleanMark(opts.Trigger),
	}
	prog := &progress{fn: opts.Progress, total: total}
	var sides []*sideRun
	for _, in := range ins {
		// The capture ends at its bundle's window end, or at the one the
		// caller's trigger says for a single input.
		var end time.Time
		if in.trigger != nil {
			end = in.trigger.WindowEnd
		}
		if opts.Trigger != nil && !opts.Trigger.WindowEnd.IsZero() && len(ins) == 1 {
			end = opts.Trigger.WindowEnd
		}
		sr, err := readInput(ctx, in, cfg, prog, opts.Logger, end)
		if err != nil {
			return nil, err
		}
		sr.gateways = append(slices.Clone(in.gateways), opts.Gateways...)
		sides = append(sides, sr)
		if rep.Trigger == nil && in.trigger != nil {
			rep.Trigger = in.trigger
		}
		rep.Neighbor = append(rep.Neighbor, in.neighbor...)
	}
	rep.Neighbor = append(rep.Neighbor, cleanNeighbor(opts.Neighbor)...)
	slices.SortStableFunc(rep.Neighbor, func(a, b NeighborEvent) int { return a.Time.Compare(b.Time) })
	for _, s := range sides {
		rep.Sides = append(rep.Sides, s.report(opts))
	}
	for i := range sides {
		for j := i + 1; j < len(sides); j++ {
			rep.TwoSided = append(rep.TwoSided, twoSided(sides[i], sides[j], cfg.timeout, opts.clockOf(i, j)))
		}
	}
	rep.Verdict = verdict(rep, sides)
	prog.done()
	return rep, nil
}

type progress struct {
	fn          func(done, total int64)
	total, base int64
}

func (p *progress) report(cur int64) {
	if p.fn != nil {
		p.fn(p.base+cur, p.total)
	}
}

func (p *progress) done() {
	if p.fn != nil {
		p.fn(p.total, p.total)
	}
}

// sideRun is one input after reading.
type sideRun struct {
	in       *input
	eng      *engine
	files    []FileReport
	skips    skips
	gateways []netip.Addr // default gateways: the bundle's and Options.Gateways
}

func (s *sideRun) fileName(r Ref) string {
	if int(r.File) < len(s.files) {
		return s.files[r.File].Name
	}
	return "?"
}

func readInput(ctx context.Context, in *input, cfg engineConfig, prog *progress, log *slog.Logger, end time.Time) (*sideRun, error) {
	sr := &sideRun{in: in, eng: newEngine(cfg)}
	var pkt Packet
	read := 0
	for i, src := range in.sources {
		fr := FileReport{Name: src.name}
		err := readSource(ctx, src, func(pr *PacketReader) error {
			fr.Format = pr.Format()
			var first, last int64
			for {
				rec, err := pr.next()
				if err == io.EOF {
					break
				}
				if err != nil {
					if cerr := ctx.Err(); cerr != nil {
						return cerr
					}
					if fatal(err) {
						return err
					}
					fr.Error = cleanText(err.Error())
					break
				}
				fr.Packets++
				if fr.Packets == 1 {
					first = rec.Timestamp
				}
				last = rec.Timestamp
				if e := decode(int(rec.LinkType), rec.Data, &pkt); e == errNone {
					sr.eng.observe(rec.Timestamp, &pkt, Ref{File: int32(i), Frame: fr.Packets})
				} else if counted(e) {
					sr.skips.add(e, pkt.why, Ref{File: int32(i), Frame: fr.Packets})
				}
				if fr.Packets&0xffff == 0 {
					if err := ctx.Err(); err != nil {
						return err
					}
					prog.report(pr.Offset())
				}
			}
			fr.Truncated = pr.Truncated()
			if fr.Packets > 0 {
				fr.First, fr.Last = time.Unix(0, first).UTC(), time.Unix(0, last).UTC()
			}
			return nil
		})
		prog.base += src.size
		if errors.Is(err, errEmpty) {
			err = nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if fatal(err) {
				return nil, fmt.Errorf("%s: %w", cleanText(src.where), err)
			}
			fr.Error = cleanText(err.Error())
			log.Debug("input unreadable", "side", in.name, "file", src.name, "err", err)
		} else {
			read++
		}
		sr.files = append(sr.files, fr)
	}
	if read == 0 {
		return nil, fmt.Errorf("input %s: no readable capture (%s)", in.path, sr.files[0].Error)
	}
	var endNS int64
	if !end.IsZero() {
		endNS = end.UnixNano()
	}
	sr.eng.finish(endNS)
	return sr, nil
}

// fatal reports whether a reading error ends the analysis: a file that is
// not a capture, of a version this reader does not know, or with a
// malformed header or block (the error says the offset and why). A file
// cut short is not: it is read up to the cut and reported as truncated.
func fatal(err error) bool {
	return errors.Is(err, ErrFormat) || errors.Is(err, pcapng.ErrInvalid) || errors.Is(err, pcapng.ErrVersion)
}

func readSource(ctx context.Context, src source, fn func(*PacketReader) error) error {
	rc, err := src.open()
	if err != nil {
		return err
	}
	defer rc.Close()
	if src.size == 0 {
		// An empty file (a ring segment just created) holds no packets.
		var probe [1]byte
		if n, _ := rc.Read(probe[:]); n == 0 {
			return errEmpty
		}
		rc.Close()
		if rc, err = src.open(); err != nil {
			return err
		}
		defer rc.Close()
	}
	pr, err := NewPacketReader(ctxReader{ctx, rc})
	if err != nil {
		return err
	}
	return fn(pr)
}

// ctxReader stops reading once ctx is done, so that a cancelled report
// stops even inside a long run of blocks that are not packets.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(b)
}

var errEmpty = errors.New("empty file")

func ts(ns int64) time.Time { return time.Unix(0, ns).UTC() }

// cleanMark is a copy of m with its text cleaned (see escape.go).
func cleanMark(m *Mark) *Mark {
	if m == nil {
		return nil
	}
	c := *m
	c.Label, c.Check, c.Target = cleanText(c.Label), cleanText(c.Check), cleanText(c.Target)
	return &c
}

// cleanNeighbor is a copy of evs with their text cleaned.
func cleanNeighbor(evs []NeighborEvent) []NeighborEvent {
	out := make([]NeighborEvent, len(evs))
	for i, e := range evs {
		e.IP, e.State, e.Side = cleanText(e.IP), cleanText(e.State), cleanText(e.Side)
		out[i] = e
	}
	return out
}

func vlanString(k uint32) string {
	if k == 0 {
		return ""
	}
	outer, inner := k>>12, k&0xfff
	if outer == 0 {
		return fmt.Sprint(inner)
	}
	if inner == 0 {
		return fmt.Sprint(outer)
	}
	return fmt.Sprintf("%d.%d", outer, inner)
}

func (s *sideRun) seen(x seen) *Seen {
	if !x.ok {
		return nil
	}
	return &Seen{Time: ts(x.ts), MAC: x.mac.String(), File: s.fileName(x.ref), Frame: x.ref.Frame}
}

// evidence groups a sample of refs by file.
func (s *sideRun) evidence(e *evidence, note string) []Evidence {
	var out []Evidence
	refs := e.refs()
	for i, r := range refs {
		name := s.fileName(r)
		if len(out) == 0 || out[len(out)-1].File != name {
			if out == nil {
				out = make([]Evidence, 0, 1) // one file, nearly always
			}
			out = append(out, Evidence{Side: s.in.name, File: name, Note: note, Frames: make([]uint64, 0, len(refs)-i)})
		}
		out[len(out)-1].Frames = append(out[len(out)-1].Frames, r.Frame)
	}
	// The count goes on the last group, after the "…" that stands for the
	// frames not listed; earlier groups list all their frames.
	for i := range out {
		out[i].Total = uint64(len(out[i].Frames))
	}
	if len(out) > 0 {
		out[len(out)-1].Total = e.count - uint64(len(refs)) + uint64(len(out[len(out)-1].Frames))
	}
	return out
}

func (s *sideRun) report(opts Options) SideReport {
	e := s.eng
	r := SideReport{Name: s.in.name, Path: s.in.path, Files: s.files, ARP: e.arp, NDP: e.ndp, Untracked: e.lostTargets,
		NotDecoded: s.skips.report(s)}
	for _, f := range s.files {
		r.Packets += f.Packets
	}
	if e.resolution > 0 {
		r.First, r.Last = ts(e.first), ts(e.last)
	}
	targets := make([]*target, 0, len(e.targets))
	for _, t := range e.targets {
		if t.requests+t.replies+t.probes+t.announcements+t.gratReplies > 0 {
			targets = append(targets, t)
		}
	}
	// Interesting first, then by address.
	slices.SortFunc(targets, func(a, b *target) int {
		if c := cmp.Compare(interest(b), interest(a)); c != 0 {
			return c
		}
		if c := a.key.ip.Compare(b.key.ip); c != 0 {
			return c
		}
		return cmp.Compare(a.key.vlan, b.key.vlan)
	})
	shown := len(targets)
	for i, t := range targets {
		if i >= opts.MaxTargetsShown && interest(t) == 0 {
			r.TargetsOmitted, shown = len(targets)-i, i
			break
		}
	}
	if shown > 0 {
		r.Targets = make([]TargetReport, shown)
		for i, t := range targets[:shown] {
			s.targetReport(&r.Targets[i], t)
		}
	}
	senders := make([]*sender, 0, len(e.senders))
	for _, x := range e.senders {
		senders = append(senders, x)
	}
	slices.SortFunc(senders, func(a, b *sender) int {
		if c := cmp.Compare(b.requests, a.requests); c != 0 {
			return c
		}
		return slices.Compare(a.mac[:], b.mac[:])
	})
	for i, x := range senders {
		if i < 10 {
			r.TopSenders = append(r.TopSenders, SenderReport{MAC: x.mac.String(), IP: addrString(x.ip), Requests: x.requests})
		}
		for _, st := range x.storms {
			r.Storms = append(r.Storms, StormReport{
				MAC: x.mac.String(), IP: addrString(x.ip),
				Start: time.Unix(st.start, 0).UTC(), End: time.Unix(st.end+1, 0).UTC(),
				Packets: st.packets, PeakPerS: st.peak,
				Evidence: s.evidence(&st.ev, ""),
			})
		}
	}
	slices.SortFunc(r.Storms, func(a, b StormReport) int { return a.Start.Compare(b.Start) })
	ms := make([]*mismatch, 0, len(e.mismatches))
	for _, m := range e.mismatches {
		ms = append(ms, m)
	}
	slices.SortFunc(ms, func(a, b *mismatch) int { return cmp.Compare(a.first, b.first) })
	for _, m := range ms {
		r.Mismatches = append(r.Mismatches, MismatchReport{
			EthernetSrc: m.eth.String(), SenderMAC: m.arp.String(), SenderIP: addrString(m.ip),
			First: ts(m.first), Last: ts(m.last), Evidence: s.evidence(&m.ev, ""),
		})
	}
	return r
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// interest orders targets in the report: those with findings first.
func interest(t *target) int {
	n := 0
	if t.unanswered > 0 {
		n += 8
	}
	if t.dups > 0 || t.conflicts > 0 || t.flips > 0 || t.spoofs > 0 {
		n += 4
	}
	if t.changes > 0 {
		n += 2
	}
	if t.announcements+t.gratReplies > 0 {
		n++
	}
	return n
}

// targetReport fills tr (zero) with t's report, in place: a TargetReport
// is large, and a report holds hundreds.
func (s *sideRun) targetReport(tr *TargetReport, t *target) {
	t.tl.flush()
	*tr = TargetReport{
		IP: t.key.ip.String(), VLAN: vlanString(t.key.vlan), Proto: t.proto.String(),
		Requests: t.requests, Broadcast: t.broadcast, Unicast: t.unicast, Replies: t.replies,
		Answered: t.answered, Unanswered: t.unanswered, Probes: t.probes,
		Announcements: t.announcements, GratuitousReplies: t.gratReplies,
		Flips: t.flips, LastReply: s.seen(t.lastReply), Unsolicited: t.unsolicited,
		timeline: t.tl, origin: s.eng.first,
	}
	if t.lat.n > 0 {
		tr.Latency = &LatencyReport{Count: t.lat.n, P50MS: ms(t.lat.quantile(0.5)), P99MS: ms(t.lat.quantile(0.99)), MaxMS: ms(t.lat.max)}
	}
	if len(t.macs) > 0 {
		tr.MACs = make([]MACReport, 0, len(t.macs))
	}
	for _, m := range t.macs {
		tr.MACs = append(tr.MACs, MACReport{MAC: m.mac.String(), First: ts(m.first), Last: ts(m.last), Count: m.count})
	}
	if eps := t.episodeList(); len(eps) > 0 {
		tr.Episodes = make([]EpisodeReport, len(eps))
		for i, ep := range eps {
			er := &tr.Episodes[i]
			*er = EpisodeReport{
				Start: ts(ep.start), End: ts(ep.end), Count: ep.count, Unicast: ep.unicast,
				LastReplyBefore: s.seen(ep.lastReplyBefore), RecoveredAt: s.seen(ep.recovered),
				Evidence: s.evidence(&ep.ev, "unanswered requests"),
			}
			if len(ep.askers) > 0 {
				er.Askers = make([]AskerReport, 0, len(ep.askers))
			}
			for _, a := range ep.askers {
				er.Askers = append(er.Askers, AskerReport{IP: addrString(a.ip), MAC: a.mac.String(), Count: a.count})
			}
		}
	}
	for _, c := range t.changeLog {
		tr.MACChanges = append(tr.MACChanges, MACChange{Time: ts(c.ts), From: c.from.String(), To: c.to.String(), Via: c.kind.String(), File: s.fileName(c.ref), Frame: c.ref.Frame})
	}
	for _, d := range t.dupLog {
		tr.Duplicates = append(tr.Duplicates, Conflict{Time: ts(d.ts), MACs: [2]string{d.a.String(), d.b.String()}, Asker: addrString(d.to), File: s.fileName(d.refB), Frames: [2]uint64{d.refA.Frame, d.refB.Frame}})
	}
	for _, u := range t.unsolLog {
		if u.held.IsZero() {
			continue
		}
		tr.Claims = append(tr.Claims, Unsolicited{Time: ts(u.ts), MAC: u.mac.String(), Held: u.held.String(), To: addrString(u.to), File: s.fileName(u.ref), Frame: u.ref.Frame})
	}
	for _, d := range t.conflictLog {
		tr.ProbeConflicts = append(tr.ProbeConflicts, Conflict{Time: ts(d.ts), MACs: [2]string{d.a.String(), d.b.String()}, File: s.fileName(d.refB), Frames: [2]uint64{d.refA.Frame, d.refB.Frame}})
	}
}

func ms(ns int64) float64 { return float64(ns/1000) / 1000 }
