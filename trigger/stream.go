package trigger

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/arpbox/arpbox/analyze"
)

// isStream reports whether check reads the recorded frames rather than
// probing the network.
func isStream(check string) bool {
	return check == CheckARPUnanswered || check == CheckARPConflict
}

// streamCheck fails while the ARP arpbox records shows trouble for one
// address: requests nobody answers, or two MACs claiming it. It sends
// nothing; the recorder feeds every frame to the Detector.
type streamCheck struct {
	spec Spec
	ip   netip.Addr
	det  *analyze.Detector
	now  func() time.Time
}

func newStreamCheck(s Spec, det *analyze.Detector, now func() time.Time) (Check, error) {
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
		st := c.det.Conflict(c.ip, now.Add(-c.spec.Window))
		if st.Count < c.spec.Threshold {
			return nil
		}
		return fmt.Errorf("%s is claimed by %d MACs (%s): %d flip-flop or duplicate answers in the last %v, latest at %s",
			c.ip, len(st.MACs), strings.Join(st.MACs, ", "), st.Count, c.spec.Window, st.Last.UTC().Format("15:04:05.000Z"))
	}
	st := c.det.Unanswered(c.ip, now, c.spec.Window)
	if st.Count < c.spec.Threshold {
		return nil
	}
	msg := fmt.Sprintf("%d ARP requests for %s unanswered in the last %v (first %s, last %s)",
		st.Count, c.ip, c.spec.Window, st.First.UTC().Format("15:04:05.000Z"), st.Last.UTC().Format("15:04:05.000Z"))
	if st.LastReply.IsZero() {
		return fmt.Errorf("%s; no reply seen since arpbox started", msg)
	}
	return fmt.Errorf("%s; last reply %s from %s", msg, st.LastReply.UTC().Format("15:04:05.000Z"), st.LastReplyMAC)
}
