package recorder

import (
	"context"

	"github.com/arpbox/arpbox/analyze"
	"github.com/arpbox/arpbox/netstate"
	"github.com/arpbox/arpbox/snapshot"
)

// reportCollector writes report.txt, report.json and report.html into every
// bundle: the analysis of its capture, with the trigger and the neighbor
// changes of the window on the timeline.
type reportCollector struct {
	journal *netstate.Journal // may be nil
}

func (reportCollector) Name() string { return "report" }

func (c reportCollector) Collect(ctx context.Context, b *snapshot.Bundle) error {
	opts := analyze.Options{
		Trigger: &analyze.Mark{Time: b.Event.Time, Label: b.Event.Trigger + ": " + b.Event.Reason},
	}
	if c.journal != nil {
		for _, ch := range c.journal.Between(b.Window.From, b.Window.To) {
			if ch.Kind != "neighbor" || !ch.IP.IsValid() {
				continue
			}
			opts.Neighbor = append(opts.Neighbor, analyze.NeighborEvent{Time: ch.Time, IP: ch.IP.String(), State: ch.State})
		}
	}
	return analyze.WriteReports(ctx, b.Dir, []string{b.CapturePath}, opts)
}
