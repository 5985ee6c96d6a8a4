package recorder

import (
	"context"

	"github.com/arpbox/arpbox/analyze"
	"github.com/arpbox/arpbox/netstate"
	"github.com/arpbox/arpbox/snapshot"
)

// reportCollector writes report.txt, report.json and report.html into every
// bundle: the analysis of its capture, with the trigger and the neighbor
// changes of the window on the timeline. It analyses the packets as the
// merge writes them (Stream), so the capture is read once.
type reportCollector struct {
	journal *netstate.Journal // may be nil
}

var _ snapshot.Streamer = reportCollector{}

func (reportCollector) Name() string { return "report" }

// Collect analyses the bundle's capture file; the snapshotter uses Stream
// instead, this is for a caller that does not stream.
func (c reportCollector) Collect(ctx context.Context, b *snapshot.Bundle) error {
	trigger, neighbor := c.marks(b)
	return analyze.WriteReports(ctx, b.Dir, []string{b.CapturePath}, analyze.Options{Trigger: trigger, Neighbor: neighbor})
}

func (c reportCollector) Stream(b *snapshot.Bundle) snapshot.StreamCollector {
	return &reportStream{c: c, s: analyze.NewStream(b.CapturePath, analyze.Options{})}
}

// marks are the trigger and the window's neighbor changes, for the timeline.
func (c reportCollector) marks(b *snapshot.Bundle) (*analyze.Mark, []analyze.NeighborEvent) {
	trigger := &analyze.Mark{Time: b.Event.Time, Label: b.Event.Trigger + ": " + b.Event.Reason,
		Check: b.Event.Check, Target: b.Event.Target, WindowEnd: b.Window.To}
	var neighbor []analyze.NeighborEvent
	if c.journal != nil {
		for _, ch := range c.journal.Between(b.Window.From, b.Window.To) {
			if ch.Kind != "neighbor" || !ch.IP.IsValid() {
				continue
			}
			neighbor = append(neighbor, analyze.NeighborEvent{Time: ch.Time, IP: ch.IP.String(), State: ch.State})
		}
	}
	return trigger, neighbor
}

// reportStream is one bundle's report, fed by the merge.
type reportStream struct {
	c reportCollector
	s *analyze.Stream
}

func (r *reportStream) Name() string { return r.c.Name() }

func (r *reportStream) Packet(ts int64, linkType int, data []byte) { r.s.Packet(ts, linkType, data) }

func (r *reportStream) Collect(ctx context.Context, b *snapshot.Bundle) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return analyze.WriteReportFiles(b.Dir, r.s.Report(r.c.marks(b)))
}
