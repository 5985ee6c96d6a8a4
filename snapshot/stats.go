package snapshot

import (
	"errors"
	"fmt"
	"io"
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

// allStats reads every interface statistics block of a segment (the ring
// writes them on seal and, for the snapshotter, on flush: the current
// segment's latest counters are then not necessarily at its end). The
// result is keyed by interface name, the last block of each.
func allStats(path string) (map[string]ifaceStats, error) {
	r, err := pcapng.Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	out := map[string]ifaceStats{}
	r.OnStats = func(st *pcapng.Stats) {
		if ifs := r.Interfaces(); st.Interface < len(ifs) {
			out[ifs[st.Interface].Name] = toIfaceStats(*st)
		}
	}
	var p pcapng.Packet
	for {
		if err := r.Next(&p); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, pcapng.ErrTruncated) {
				return out, nil // a .part being written: what is complete
			}
			return out, fmt.Errorf("statistics of %s: %w", filepath.Base(path), err)
		}
	}
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
	Since    time.Time // when the counters started (arpbox's start); zero if not known
}

// windowDrops computes the counts for one interface from the statistics
// before the window (base, may be missing) and the latest inside it.
func windowDrops(base, last ifaceStats, haveBase, haveLast bool) dropCount {
	if !haveLast {
		return dropCount{Kind: "unknown"}
	}
	d := dropCount{Kind: "cumulative", To: last.Time, Since: last.Start, Dropped: last.Dropped, HasDrop: last.HasDrop, Received: last.Received, HasRecv: last.HasRecv}
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

// bundleStats is the interface statistics block of output interface i of a
// bundle's capture, for counts d and the packets of that interface in the
// capture (n, stamped first to last). Its isb_starttime and isb_endtime
// are the span the counts cover: from the baseline (the statistics before
// the window) or, without one, from when arpbox started, to the latest
// statistics. isb_ifrecv is never below n: the capture's counter lags the
// frames by up to a second, and every frame in the file was received; the
// span then reaches the last frame too. Without counts it has the window's
// times only.
func bundleStats(i int, d dropCount, from, to time.Time, n uint64, first, last int64) pcapng.Stats {
	st := pcapng.Stats{Interface: i, Timestamp: to.UnixNano(), StartTime: from.UnixNano(), EndTime: to.UnixNano(),
		Has: pcapng.HasStartTime | pcapng.HasEndTime}
	switch d.Kind {
	case "window":
		st.StartTime = d.From.UnixNano()
		st.Comment = fmt.Sprintf("arpbox: counts from %s to %s (difference of the ring's statistics)", rfc(d.From), rfc(d.To))
	case "cumulative":
		if !d.Since.IsZero() {
			st.StartTime = d.Since.UnixNano()
		}
		st.Comment = fmt.Sprintf("arpbox: counts since arpbox started (%s), up to %s (no earlier statistics in the ring)", rfc(time.Unix(0, st.StartTime)), rfc(d.To))
	default:
		st.Comment = "arpbox: no interface statistics in the frozen segments; receive and drop counts unknown"
		return st
	}
	st.EndTime = d.To.UnixNano()
	if d.HasDrop {
		st.Dropped, st.Has = d.Dropped, st.Has|pcapng.HasDropped
	}
	if d.HasRecv {
		st.Received, st.Has = d.Received, st.Has|pcapng.HasReceived
		if st.Received < n {
			st.Received = n
			st.Comment += fmt.Sprintf("; received raised to the %d frames of this interface in the file (the counter had not caught up)", n)
		}
	}
	if n > 0 {
		st.StartTime = min(st.StartTime, first)
		st.EndTime = max(st.EndTime, last)
	}
	st.Timestamp = st.EndTime
	return st
}
