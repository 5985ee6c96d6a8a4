package peer

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/arpbox/arpbox/bundle"
)

// Path is where a peer's HTTP API takes Requests.
const Path = "/v1/incident"

// Request asks a peer to freeze an incident. Times are on the initiator's
// clock.
type Request struct {
	Incident string    `json:"incident"`
	Host     string    `json:"host"` // the initiator's host name
	Trigger  string    `json:"trigger"`
	Check    string    `json:"check"`
	Reason   string    `json:"reason"`
	T        time.Time `json:"t"`
	BeforeMS int64     `json:"before_ms"`
	AfterMS  int64     `json:"after_ms"`
	Sent     time.Time `json:"sent"`
	// FromPeer marks a request one arpbox sends another: its receiver
	// never sends it on. Always true; a request without it is refused.
	FromPeer bool `json:"from_peer"`
}

// Reply is a peer's answer: its receive and send times on its own clock.
type Reply struct {
	Incident string    `json:"incident"`
	Host     string    `json:"host"`
	Received time.Time `json:"received"`
	Sent     time.Time `json:"sent"`
	// Repeat: the incident was already accepted (an earlier attempt whose
	// reply was lost); nothing new was frozen.
	Repeat bool `json:"repeat,omitempty"`
}

// ErrRequest wraps every reason a Request is refused as malformed.
var ErrRequest = errors.New("peer request")

// Bounds on what a peer may ask for: the whole window, the part after T
// (the snapshotter waits for it, holding up bundles queued behind), and
// how far in the future of the receiver's clock T may lie.
const (
	maxWindow = 24 * time.Hour
	maxAfter  = time.Hour
	maxFuture = time.Minute
)

// parseRequest decodes and checks a Request.
func parseRequest(body []byte) (Request, error) {
	var rq Request
	if err := json.Unmarshal(body, &rq); err != nil {
		return rq, fmt.Errorf("%w: %w", ErrRequest, err)
	}
	var errs []error
	if !bundle.ValidID(rq.Incident) {
		errs = append(errs, fmt.Errorf("incident %q: want 1 to 128 letters, digits, '-', '_' or '.'", rq.Incident))
	}
	if !rq.FromPeer {
		errs = append(errs, errors.New("from_peer: must be true"))
	}
	if rq.T.IsZero() || rq.Sent.IsZero() {
		errs = append(errs, errors.New("t and sent: must be set"))
	}
	if rq.BeforeMS <= 0 || rq.AfterMS < 0 || rq.BeforeMS > maxWindow.Milliseconds() || rq.AfterMS > maxAfter.Milliseconds() ||
		time.Duration(rq.BeforeMS+rq.AfterMS)*time.Millisecond > maxWindow {
		errs = append(errs, fmt.Errorf("before_ms %d, after_ms %d: want a positive before, an after of 0 to %v, at most %v in all", rq.BeforeMS, rq.AfterMS, maxAfter, maxWindow))
	}
	if len(errs) > 0 {
		return rq, fmt.Errorf("%w: %w", ErrRequest, errors.Join(errs...))
	}
	return rq, nil
}

// NewIncidentID returns a fresh incident id: T in UTC, the host name (made
// safe) and 32 random bits, e.g. "20261130T080005Z-gw1-9f3a0c1d".
func NewIncidentID(host string, t time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	var h strings.Builder
	for _, r := range host {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-':
			h.WriteRune(r)
		default:
			h.WriteByte('_')
		}
		if h.Len() >= 40 {
			break
		}
	}
	if h.Len() == 0 {
		h.WriteString("host")
	}
	return t.UTC().Format("20060102T150405Z") + "-" + h.String() + "-" + hex.EncodeToString(b[:])
}

// offset computes the NTP clock offset (peer minus local) and round trip
// from t1 (sent, local), t2 (received, peer), t3 (sent, peer) and t4
// (received, local).
func offset(t1, t2, t3, t4 time.Time) (off, rtt time.Duration) {
	off = (t2.Sub(t1) + t3.Sub(t4)) / 2
	rtt = t4.Sub(t1) - t3.Sub(t2)
	return off, max(rtt, 0)
}
