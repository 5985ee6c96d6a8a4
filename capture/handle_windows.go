package capture

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// maxBurst bounds the frames one next call reads: under a storm the
// driver never runs dry, and Live.read must get to flush aged batches and
// sample the counters.
const maxBurst = 4096

// openHandle opens an Npcap capture, Windows' handle. Npcap missing or
// unusable is an error wrapping ErrNoNpcap (reopening cannot fix it); an
// interface Npcap does not list (yet) wraps ErrLinkDown, so Live.Run waits
// for it as on Linux.
func openHandle(cfg LiveConfig) (handle, error) {
	h, err := openNpcap(cfg)
	switch {
	case errors.Is(err, ErrNoNpcap):
		return nil, fmt.Errorf("capture %s: %w", cfg.Iface, err)
	case errors.Is(err, errNoNpcapDevice):
		return nil, fmt.Errorf("capture %s: %w (%w)", cfg.Iface, ErrLinkDown, err)
	case err != nil:
		return nil, fmt.Errorf("capture %s: %w", cfg.Iface, err)
	}
	return &npcapLive{h: h, index: npcapIfIndex(h.device), buffer: cfg.withDefaults().BufferBytes, snap: cfg.withDefaults().SnapLen}, nil
}

// liveAvailable loads Npcap's wpcap.dll.
func liveAvailable() error {
	_, err := loadNpcap()
	return err
}

// checkIfaceName: Windows names interfaces by friendly name ("Ethernet
// 2"), \Device\NPF_{GUID}, description or address, with no short limit.
func checkIfaceName(name string) error {
	if len(name) > 512 {
		return fmt.Errorf("interfaces: %q is longer than 512 bytes", name)
	}
	return nil
}

// npcapLive is the handle over an Npcap capture. Reads block in
// pcap_next_ex (under Wine an idle read never times out, so wait ends a
// read at its deadline with pcap_breakloop); one frame read ahead makes
// the handle ready, and next reads the rest of the burst without blocking.
type npcapLive struct {
	h      *npcapHandle
	index  int
	buffer int
	snap   int

	// The frame read ahead by wait; its data stays valid until the next
	// read of h.
	peeked  bool
	ts      time.Time
	wireLen int
	data    []byte

	// pcap_stats' counters are totals since open; stats returns deltas.
	lastRecv, lastDrop uint32
}

var _ handle = (*npcapLive)(nil)

func (n *npcapLive) ready() bool   { return n.peeked }
func (n *npcapLive) pending() bool { return false }
func (n *npcapLive) ifindex() int  { return n.index }

// setFilter installs a new program when the snaplen stays (Npcap sets
// it at activation only).
func (n *npcapLive) setFilter(f Filter, snaplen int) error {
	if snaplen != n.snap {
		return fmt.Errorf("npcap sets the snaplen at open: %w", errors.ErrUnsupported)
	}
	return n.h.setProgram(f.Program)
}

// countsFiltered: Npcap's ps_recv counts what the adapter delivered to the
// driver, filtered out or not, so the capture watchdog stays off.
func (n *npcapLive) countsFiltered() bool { return false }

// linkKept: an Npcap handle whose adapter went away is reopened.
func (n *npcapLive) linkKept() bool   { return false }
func (n *npcapLive) bufferBytes() int { return n.buffer }
func (n *npcapLive) interrupt()       { n.h.interrupt() }
func (n *npcapLive) close()           { n.h.close() }

// next hands on the frame read ahead and every further frame the driver
// holds (up to maxBurst), read in non-blocking mode: one unit per burst.
func (n *npcapLive) next(fl *filler, emit func(*Batch) bool) bool {
	if !n.peeked {
		return true
	}
	n.peeked = false
	if !fl.add(n.ts.UTC(), n.wireLen, n.data, emit) {
		return false
	}
	if err := n.h.setNonblock(true); err != nil {
		return true // the next wait reads on, blocking
	}
	defer n.h.setNonblock(false)
	for range maxBurst {
		ts, wire, data, err := n.h.next()
		if err != nil || data == nil {
			// Nothing waiting, an interrupt (taken as the end of the
			// burst; Live.read checks ctx next), or an error the next
			// wait reports.
			return true
		}
		if !fl.add(ts.UTC(), wire, data, emit) {
			return false
		}
	}
	return true
}

// wait reads ahead one frame, blocking until one arrives, deadline passes
// (a timer calls pcap_breakloop) or interrupt. A read error (the adapter
// went away) wraps ErrLinkDown.
func (n *npcapLive) wait(ctx context.Context, deadline time.Time) error {
	if n.peeked {
		return nil
	}
	timer := time.AfterFunc(time.Until(deadline), n.h.interrupt)
	defer timer.Stop()
	if ctx.Err() != nil {
		return nil
	}
	for {
		ts, wire, data, err := n.h.next()
		switch {
		case errors.Is(err, errNpcapBreak):
			return nil
		case err != nil:
			return fmt.Errorf("%w: %w", ErrLinkDown, err)
		case data != nil:
			n.peeked, n.ts, n.wireLen, n.data = true, ts, wire, data
			return nil
		}
		// Npcap's read timeout passed with nothing (Npcap returns; Wine's
		// libpcap does not).
		if ctx.Err() != nil || !time.Now().Before(deadline) {
			return nil
		}
	}
}

// stats returns the frames received and dropped since the last call.
func (n *npcapLive) stats() (received, dropped uint64, err error) {
	recv, drop, err := n.h.stats()
	if err != nil {
		return 0, 0, err
	}
	r, d := uint32(recv), uint32(drop)
	received, dropped = counterDelta(n.lastRecv, r), counterDelta(n.lastDrop, d)
	n.lastRecv, n.lastDrop = r, d
	return received, dropped, nil
}

// counterDelta is how far a 32-bit driver counter moved from prev to cur,
// across a wrap.
func counterDelta(prev, cur uint32) uint64 { return uint64(cur - prev) }

// watchLink: no link events from Npcap; Run reopens on its backoff timer
// (Npcap lists a returning adapter within it).
func watchLink(string) (linkWatcher, error) { return nil, errors.ErrUnsupported }
