package snapshot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/arpbox/arpbox/bundle"
	"github.com/arpbox/arpbox/netstate"
)

// NetstateCollector records the host's network state at T — neighbor table,
// links, addresses, routes — as netstate.json and netstate.txt, and, given a
// running netstate.Journal, the neighbor and link changes seen during the
// window as journal.json and journal.txt.
//
// It is a Freezer: the state is read while the snapshot freezes, at the
// moment of the failure, and written into the bundle at T+after.
type NetstateCollector struct {
	capture func(context.Context) (*netstate.State, error)
	between func(from, to time.Time) []netstate.Change // nil: no journal
	dropped func() (uint64, time.Time)                 // changes the journal pushed out
}

// NewNetstateCollector returns the collector; journal may be nil.
func NewNetstateCollector(journal *netstate.Journal) *NetstateCollector {
	c := &NetstateCollector{capture: netstate.Capture}
	if journal != nil {
		c.between = journal.Between
		c.dropped = journal.Dropped
	}
	return c
}

var _ Freezer = (*NetstateCollector)(nil)

// Name implements Collector.
func (c *NetstateCollector) Name() string { return "netstate" }

// Freeze reads the network state now (at T). If that fails, the returned
// Collector still writes the journal; the error goes into the manifest.
func (c *NetstateCollector) Freeze(ctx context.Context, ev bundle.Event) (Collector, error) {
	st, err := c.capture(ctx)
	if err != nil {
		err = fmt.Errorf("read network state at T: %w", err)
	}
	return &frozenNetstate{c: c, state: st}, err
}

// Collect reads the state now (used only when Freeze was not called) and
// writes the files.
func (c *NetstateCollector) Collect(ctx context.Context, b *Bundle) error {
	st, err := c.capture(ctx)
	if err != nil {
		err = fmt.Errorf("read network state: %w", err)
	}
	return errors.Join(err, (&frozenNetstate{c: c, state: st}).Collect(ctx, b))
}

// frozenNetstate holds the state read at T for one bundle.
type frozenNetstate struct {
	c     *NetstateCollector
	state *netstate.State // nil if it could not be read
}

func (f *frozenNetstate) Name() string { return f.c.Name() }

func (f *frozenNetstate) Collect(ctx context.Context, b *Bundle) error {
	var errs []error
	if f.state != nil {
		errs = append(errs,
			b.WriteFile(bundle.FileNetstateJSON, f.state.WriteJSON),
			b.WriteFile(bundle.FileNetstateText, f.state.WriteText))
	}
	if f.c.between != nil {
		changes := f.c.between(b.Window.From, b.Window.To)
		var gap error
		if f.c.dropped != nil {
			if n, until := f.c.dropped(); n > 0 && !until.Before(b.Window.From) {
				gap = fmt.Errorf("journal incomplete: it was full and dropped changes up to %s, inside the window (%d dropped since arpbox started)",
					until.UTC().Format(time.RFC3339Nano), n)
			}
		}
		errs = append(errs,
			b.WriteFile(bundle.FileJournalJSON, func(w io.Writer) error { return bundle.WriteJournal(w, journalEntries(changes)) }),
			b.WriteFile(bundle.FileJournalText, func(w io.Writer) error {
				if gap != nil {
					if _, err := fmt.Fprintf(w, "NOTE: %v\n\n", gap); err != nil {
						return err
					}
				}
				return netstate.WriteChangesText(w, changes)
			}),
			gap)
	}
	return errors.Join(errs...)
}

// journalEntries converts the journal's changes into journal.json's entries.
func journalEntries(cs []netstate.Change) []bundle.JournalEntry {
	out := make([]bundle.JournalEntry, len(cs))
	for i, c := range cs {
		out[i] = bundle.JournalEntry{Time: c.Time, Kind: c.Kind, Iface: c.Iface, IP: c.IP, State: c.State, Detail: c.Detail}
		if len(c.MAC) > 0 {
			out[i].MAC = c.MAC.String()
		}
	}
	return out
}
