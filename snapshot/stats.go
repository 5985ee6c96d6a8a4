package snapshot

import (
	"fmt"
	"io"
	"os"
	"time"
)

// trailingStats reads the interface statistics blocks a sealed segment ends
// with (the ring writes one per interface on seal), walking back from the end
// of the file by the blocks' trailing length words. The result is keyed by
// interface name; an unsealed segment simply has none.
func trailingStats(path string) (map[string]ifaceStats, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := newBlockReader(f)
	for {
		typ, body, err := br.readBlock()
		if err != nil {
			if err == io.EOF {
				break
			}
			return nil, fmt.Errorf("read header of %s: %w", path, err)
		}
		if typ != blockSHB && typ != blockIDB {
			break
		}
		if typ == blockIDB {
			if err := br.parseIDB(body); err != nil {
				return nil, fmt.Errorf("read header of %s: %w", path, err)
			}
		}
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := fi.Size()
	tail := min(size, 64<<10)
	buf := make([]byte, tail)
	if _, err := f.ReadAt(buf, size-tail); err != nil {
		return nil, fmt.Errorf("read tail of %s: %w", path, err)
	}
	out := map[string]ifaceStats{}
	for end := len(buf); end >= 12; {
		l := int(br.bo.Uint32(buf[end-4 : end]))
		if l < 12 || l%4 != 0 || l > end {
			break
		}
		start := end - l
		if br.bo.Uint32(buf[start:start+4]) != blockISB || br.bo.Uint32(buf[start+4:start+8]) != uint32(l) {
			break
		}
		st, err := br.parseISB(buf[start+8 : end-4])
		if err != nil {
			break
		}
		name := br.ifaces[st.Iface].Name
		if _, seen := out[name]; !seen { // walking backwards: the first seen is the last written
			out[name] = st
		}
		end = start
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
