package trigger

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// isStream reports whether check reads the recorded frames rather than
// probing the network.
func isStream(check string) bool {
	return check == CheckARPUnanswered || check == CheckARPConflict
}

// Detector is the live view of the recorded frames that the stream checks
// (arp-unanswered, arp-conflict) read. The recorder feeds it every frame;
// *analyze.Detector implements it. Times are capture timestamps.
type Detector interface {
	// Unanswered returns how many requests for ip sent in (now-window, now]
	// went unanswered, and the first and last of them.
	Unanswered(ip netip.Addr, now time.Time, window time.Duration) (n int, first, last time.Time)
	// LastReply returns when ip last answered, and from which MAC; the time
	// is zero if it never did.
	LastReply(ip netip.Addr) (time.Time, string)
	// Conflict returns how many flip-flops, duplicate answers, answered
	// probes and unsolicited replies claiming ip for another MAC there were
	// since the given time, the latest of them, and the MACs seen claiming ip.
	Conflict(ip netip.Addr, since time.Time) (n int, last time.Time, macs []string)
	// Unsolicited returns the latest reply since the given time that nobody
	// asked for and that claimed ip for another MAC (mac) than the one
	// holding it (held); ok is false if there was none.
	Unsolicited(ip netip.Addr, since time.Time) (at time.Time, mac, held string, ok bool)
}

// streamCheck fails while the ARP arpbox records shows trouble for one
// address: requests nobody answers, or two MACs claiming it (flip-flops,
// duplicate answers, answered probes, or an unsolicited reply claiming it
// for another MAC: set the gateway's address as the target to catch its
// spoofing). It sends
// nothing; the recorder feeds every frame to the Detector.
type streamCheck struct {
	spec Spec
	ip   netip.Addr
	det  Detector
	now  func() time.Time
}

func newStreamCheck(s Spec, det Detector, now func() time.Time) (Check, error) {
	if det == nil {
		return nil, fmt.Errorf("check %s reads the live capture, which this run does not have", s.Check)
	}
	ip, err := netip.ParseAddr(s.Target)
	if err != nil {
		return nil, fmt.Errorf("check %s: %w", s.Check, err)
	}
	return &streamCheck{spec: s, ip: ip, det: det, now: now}, nil
}

func (c *streamCheck) Probe(context.Context) error {
	now := c.now()
	if c.spec.Check == CheckARPConflict {
		since := now.Add(-c.spec.Window)
		n, last, macs := c.det.Conflict(c.ip, since)
		if n < c.spec.Threshold {
			return nil
		}
		msg := fmt.Sprintf("%s is claimed by %d MACs (%s): %d flip-flops, duplicate answers or unsolicited claims in the last %v, latest at %s",
			c.ip, len(macs), strings.Join(macs, ", "), n, c.spec.Window, last.UTC().Format("15:04:05.000Z"))
		if at, mac, held, ok := c.det.Unsolicited(c.ip, since); ok {
			msg += fmt.Sprintf("; %s claimed it from %s in an unsolicited reply at %s (ARP spoofing or a takeover)", mac, held, at.UTC().Format("15:04:05.000Z"))
		}
		return errors.New(msg)
	}
	n, first, last := c.det.Unanswered(c.ip, now, c.spec.Window)
	if n < c.spec.Threshold {
		return nil
	}
	msg := fmt.Sprintf("%d ARP requests for %s unanswered in the last %v (first %s, last %s)",
		n, c.ip, c.spec.Window, first.UTC().Format("15:04:05.000Z"), last.UTC().Format("15:04:05.000Z"))
	replied, mac := c.det.LastReply(c.ip)
	if replied.IsZero() {
		return fmt.Errorf("%s; no reply seen since arpbox started", msg)
	}
	return fmt.Errorf("%s; last reply %s from %s", msg, replied.UTC().Format("15:04:05.000Z"), mac)
}
