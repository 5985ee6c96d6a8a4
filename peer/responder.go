package peer

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/arpbox/arpbox/bundle"
	"github.com/arpbox/arpbox/trigger"
)

// CheckPeer is the Event.Check of a bundle a peer asked for.
const CheckPeer = "peer"

// ErrGone: the ring no longer holds any of the window asked for.
var ErrGone = errors.New("the ring no longer holds the window")

// ResponderOptions are a Responder's dependencies.
type ResponderOptions struct {
	Host   string           // this host's name, sent in every Reply
	Logger *slog.Logger     // nil = discard
	Now    func() time.Time // nil = time.Now
	// Snapshot freezes the ring for ev; it must not broadcast ev (its
	// Origin is set). Its error is returned by Handle as it is.
	Snapshot func(ev bundle.Event) error
	// Oldest returns the oldest time the ring holds (zero: unknown).
	Oldest func() time.Time
	// Observe, if set, is told what became of each well-formed request:
	// "frozen", "repeat" or "refused" (for metrics).
	Observe func(result string)
}

// Incident memory bounds: an incident id is remembered this long, and at
// most this many.
const (
	incidentMemory    = 24 * time.Hour
	maxIncidentMemory = 1024
)

// Responder answers peers' Requests: it freezes the ring once per incident
// id. Safe for concurrent use.
type Responder struct {
	opts ResponderOptions
	log  *slog.Logger

	mu   sync.Mutex
	seen map[string]time.Time // incident id -> when accepted here
}

// NewResponder returns a Responder. It starts nothing.
func NewResponder(opts ResponderOptions) *Responder {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Observe == nil {
		opts.Observe = func(string) {}
	}
	return &Responder{opts: opts, log: opts.Logger, seen: map[string]time.Time{}}
}

// Remember records incident as handled here (this host initiated it), so a
// request about it is answered without freezing again.
func (r *Responder) Remember(incident string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rememberLocked(incident, r.opts.Now())
}

func (r *Responder) rememberLocked(id string, now time.Time) {
	if len(r.seen) >= maxIncidentMemory {
		var oldID string
		var oldAt time.Time
		for k, at := range r.seen {
			if now.Sub(at) >= incidentMemory {
				delete(r.seen, k)
			} else if oldID == "" || at.Before(oldAt) {
				oldID, oldAt = k, at
			}
		}
		if len(r.seen) >= maxIncidentMemory {
			delete(r.seen, oldID)
		}
	}
	r.seen[id] = now
}

// Handle answers one request body. A malformed request is an error
// wrapping ErrRequest; a window the ring no longer holds, ErrGone; a
// refusal by Snapshot, its error. An incident seen before is answered with
// Repeat set, without freezing.
func (r *Responder) Handle(body []byte) (Reply, error) {
	received := r.opts.Now()
	rq, err := parseRequest(body)
	if err != nil {
		return Reply{}, err
	}
	rq.Host = trigger.SanitizeReason([]byte(rq.Host))
	rq.Trigger = trigger.SanitizeReason([]byte(rq.Trigger))
	rep := Reply{Incident: rq.Incident, Host: r.opts.Host, Received: received}
	r.mu.Lock()
	at, ok := r.seen[rq.Incident]
	if ok && received.Sub(at) < incidentMemory {
		r.mu.Unlock()
		rep.Repeat = true
		r.opts.Observe("repeat")
		rep.Sent = r.opts.Now()
		r.log.Info("peer asked again for an incident already frozen here", "incident", rq.Incident, "from", rq.Host)
		return rep, nil
	}
	// Claimed while Snapshot runs, so a concurrent retry does not freeze twice.
	r.rememberLocked(rq.Incident, received)
	r.mu.Unlock()

	bound := received.Sub(rq.Sent) // this clock minus the initiator's, plus the one-way delay
	before := time.Duration(rq.BeforeMS) * time.Millisecond
	after := time.Duration(rq.AfterMS) * time.Millisecond
	if after == 0 {
		after = time.Nanosecond // the initiator's after is 0; a zero Event.After would mean "the configured one"
	}
	t := rq.T.Add(bound)
	if t.After(received.Add(maxFuture)) {
		r.forget(rq.Incident)
		r.opts.Observe("refused")
		return Reply{}, fmt.Errorf("%w: incident %s from %s: T %s is %v ahead of this host's clock, after the request's own offset",
			ErrRequest, rq.Incident, rq.Host, rq.T.UTC().Format(time.RFC3339), t.Sub(received).Round(time.Second))
	}
	if r.opts.Oldest != nil {
		if oldest := r.opts.Oldest(); !oldest.IsZero() && t.Add(after).Before(oldest) {
			r.forget(rq.Incident)
			r.opts.Observe("refused")
			return Reply{}, fmt.Errorf("incident %s from %s: window up to %s (this host's clock), ring from %s: %w",
				rq.Incident, rq.Host, t.Add(after).UTC().Format(time.RFC3339), oldest.UTC().Format(time.RFC3339), ErrGone)
		}
	}
	ev := bundle.Event{
		Trigger:  rq.Trigger,
		Check:    CheckPeer,
		Target:   rq.Host,
		Reason:   trigger.SanitizeReason([]byte("peer " + rq.Host + ": " + rq.Reason)),
		Time:     t,
		Incident: rq.Incident,
		Origin: &bundle.Origin{Host: rq.Host, T: rq.T.UTC(), Sent: rq.Sent.UTC(), Received: received.UTC(),
			OffsetBoundMS: float64(bound.Microseconds()) / 1000},
		Before: before,
		After:  after,
	}
	// The bundle id is made from T and the trigger: "peer-<trigger>" keeps
	// the two hosts' bundles of one incident apart in one directory.
	ev.Trigger = CheckPeer + "-" + ev.Trigger
	if err := r.opts.Snapshot(ev); err != nil {
		r.forget(rq.Incident) // a retry may be accepted
		r.opts.Observe("refused")
		return Reply{}, fmt.Errorf("incident %s from %s: %w", rq.Incident, rq.Host, err)
	}
	r.opts.Observe("frozen")
	r.log.Info("peer asked to freeze an incident", "incident", rq.Incident, "from", rq.Host, "t", t, "offset_bound", bound)
	rep.Sent = r.opts.Now()
	return rep, nil
}

func (r *Responder) forget(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.seen, id)
}
