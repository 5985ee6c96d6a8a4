package analyze

import (
	"path/filepath"
	"slices"
	"time"
)

// Stream analyses one capture while its writer hands over the packets, for a
// caller that writes the capture itself (a bundle's merge) and should not
// read it back. Its report is the one Analyze gives for that capture file
// alone: the same side, file and frame numbers. State is per address and
// sender, bounded by Options.MaxTargets, never per packet. A Stream is not
// safe for concurrent use.
type Stream struct {
	eng         *engine
	in          input
	fr          FileReport
	first, last int64
	pkt         Packet
	opts        Options
	skips       skips
}

// NewStream starts the analysis of the capture that will be at path (it is
// not read; path names the side and the file in the report).
func NewStream(path string, opts Options) *Stream {
	opts.defaults()
	s := &Stream{
		eng: newEngine(engineConfig{
			timeout:      int64(opts.ReplyTimeout),
			stormRate:    opts.StormRate,
			maxTargets:   opts.MaxTargets,
			maxExchanges: maxExchanges,
		}),
		in:   input{name: sideName(path), path: cleanText(path)},
		opts: opts,
	}
	s.fr = FileReport{Name: cleanText(filepath.Base(path)), Format: "pcapng"}
	return s
}

// Packet analyses the next packet of the capture: captured at ts (Unix
// nanoseconds) on an interface of link type linkType (LINKTYPE_*). Frames
// are numbered from 1 in the order they are handed over. data is not kept.
func (s *Stream) Packet(ts int64, linkType int, data []byte) {
	s.fr.Packets++
	if s.fr.Packets == 1 {
		s.first = ts
	}
	s.last = ts
	if e := decode(linkType, data, &s.pkt); e == errNone {
		s.eng.observe(ts, &s.pkt, Ref{File: 0, Frame: s.fr.Packets})
	} else if counted(e) {
		s.skips.add(e, s.pkt.why, Ref{File: 0, Frame: s.fr.Packets})
	}
}

// Report ends the analysis and returns the report, with the trigger mark and
// the neighbor changes on its timeline (both may be empty). Call it once.
func (s *Stream) Report(trigger *Mark, neighbor []NeighborEvent) *Report {
	if s.fr.Packets > 0 {
		s.fr.First, s.fr.Last = time.Unix(0, s.first).UTC(), time.Unix(0, s.last).UTC()
	}
	var end int64
	if trigger != nil && !trigger.WindowEnd.IsZero() {
		end = trigger.WindowEnd.UnixNano()
	}
	s.eng.finish(end)
	sr := &sideRun{in: &s.in, eng: s.eng, files: []FileReport{s.fr}, skips: s.skips, gateways: s.opts.Gateways}
	rep := &Report{
		Schema:   Schema,
		Settings: Settings{ReplyTimeoutMS: s.opts.ReplyTimeout.Milliseconds(), StormRate: s.opts.StormRate},
		Trigger:  cleanMark(trigger),
		Neighbor: cleanNeighbor(neighbor),
	}
	slices.SortStableFunc(rep.Neighbor, func(a, b NeighborEvent) int { return a.Time.Compare(b.Time) })
	rep.Sides = append(rep.Sides, sr.report(s.opts))
	rep.Verdict = verdict(rep, []*sideRun{sr})
	return rep
}
