package snapshot

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/arpbox/arpbox/internal/pcapng"
)

// ifaceStats is one interface statistics block, as the drop counts use it.
type ifaceStats struct {
	Iface    int
	Time     time.Time
	Start    time.Time
	End      time.Time
	Received uint64
	Dropped  uint64
	HasRecv  bool
	HasDrop  bool
}

func toIfaceStats(st pcapng.Stats) ifaceStats {
	out := ifaceStats{Iface: st.Interface, Time: time.Unix(0, st.Timestamp).UTC(),
		Received: st.Received, Dropped: st.Dropped,
		HasRecv: st.Has&pcapng.HasReceived != 0, HasDrop: st.Has&pcapng.HasDropped != 0}
	if st.Has&pcapng.HasStartTime != 0 {
		out.Start = time.Unix(0, st.StartTime).UTC()
	}
	if st.Has&pcapng.HasEndTime != 0 {
		out.End = time.Unix(0, st.EndTime).UTC()
	}
	return out
}

// trailingStats reads the interface statistics blocks a sealed segment ends
// with (the ring writes one per interface on seal). The result is keyed by
// interface name, the last block of each; an unsealed segment simply has
// none.
func trailingStats(path string) (map[string]ifaceStats, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	ifaces, stats, err := pcapng.TrailingStats(f, fi.Size())
	if err != nil {
		return nil, fmt.Errorf("statistics of %s: %w", filepath.Base(path), err)
	}
	out := map[string]ifaceStats{}
	for _, st := range stats { // in file order: the last one of an interface wins
		out[ifaces[st.Interface].Name] = toIfaceStats(st)
	}
	return out, nil
}

// dropCount is the drop and receive count of one interface over a window.
type dropCount struct {
	Dropped, Received uint64
	HasDrop, HasRecv  bool
	// Kind says how the counts were obtained: "window" (difference of the
	// segment statistics around the window), "cumulative" (since arpbox
	// started; no earlier statistics were available), or "unknown".
	Kind     string
	From, To time.Time // the statistics blocks the counts come from
}

// windowDrops computes the counts for one interface from the statistics
// before the window (base, may be missing) and the latest inside it.
func windowDrops(base, last ifaceStats, haveBase, haveLast bool) dropCount {
	if !haveLast {
		return dropCount{Kind: "unknown"}
	}
	d := dropCount{Kind: "cumulative", To: last.Time, Dropped: last.Dropped, HasDrop: last.HasDrop, Received: last.Received, HasRecv: last.HasRecv}
	// The counters are cumulative since isb_starttime: they can only be
	// subtracted within one run of arpbox (a restart resets them).
	sameRun := base.Start.IsZero() || last.Start.IsZero() || base.Start.Equal(last.Start)
	if haveBase && sameRun && base.HasDrop == last.HasDrop && last.Dropped >= base.Dropped && last.Received >= base.Received && !last.Time.Before(base.Time) {
		d.Kind = "window"
		d.From = base.Time
		d.Dropped -= base.Dropped
		d.Received -= base.Received
	}
	return d
}
