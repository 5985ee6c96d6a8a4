package recorder

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/arpbox/arpbox/bundle"
	"github.com/arpbox/arpbox/control"
	"github.com/arpbox/arpbox/peer"
	"github.com/arpbox/arpbox/ring"
	"github.com/arpbox/arpbox/snapshot"
	"github.com/arpbox/arpbox/trigger"
)

// fleet is the recorder's part in a fleet of arpboxes: the peers it asks
// to freeze its incidents, the responder that answers theirs, and the
// Alertmanager webhook.
type fleet struct {
	host  string
	peers *peer.Fleet // nil without peers:
	resp  *peer.Responder
	am    *trigger.AlertmanagerSource // nil without alertmanager:
}

// buildFleet makes the fleet's parts (reading the peers' token and CA
// files). It starts nothing.
func (r *Recorder) buildFleet(host string) error {
	f := &r.fleet
	f.host = host
	log := r.log.With("part", "peers")
	if len(r.cfg.Fleet.Peers) > 0 {
		p, err := peer.New(r.cfg.Fleet.Peers, peer.Options{Host: host, Logger: log})
		if err != nil {
			return err
		}
		f.peers = p
	}
	f.resp = peer.NewResponder(peer.ResponderOptions{Host: host, Logger: log, Snapshot: r.peerSnapshot, Oldest: r.ringOldest})
	if c := r.cfg.Fleet.Alertmanager; c != nil {
		am, err := trigger.NewAlertmanagerSource(*c, trigger.AlertmanagerOptions{Logger: r.log.With("part", "alertmanager"), Oldest: r.ringOldest})
		if err != nil {
			return err
		}
		f.am = am
	}
	return nil
}

// fleetTasks: sending incidents to peers, when there are any.
func (r *Recorder) fleetTasks() []task {
	if r.fleet.peers == nil {
		return nil
	}
	return []task{{name: "peers", run: r.fleet.peers.Run}}
}

// request is how every local trigger (checks, manual, API, signal, file,
// Alertmanager) asks for a snapshot: the event gets an incident id (and the
// configured window), and once the snapshot is accepted every peer is
// asked to freeze the same incident. A peer's request (Origin set) is
// never sent on.
func (r *Recorder) request(ev bundle.Event) (<-chan snapshot.Result, error) {
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	if ev.Incident == "" {
		ev.Incident = peer.NewIncidentID(r.fleet.host, ev.Time)
	}
	if ev.Before <= 0 {
		ev.Before = r.cfg.Snapshots.Before
	}
	if ev.After <= 0 {
		ev.After = r.cfg.Snapshots.After
	}
	res, err := r.snaps.Request(ev)
	if err != nil || ev.Origin != nil {
		return res, err
	}
	if r.fleet.resp != nil {
		r.fleet.resp.Remember(ev.Incident) // asked about it later: answered, not frozen again
	}
	if r.fleet.peers != nil {
		r.fleet.peers.Broadcast(ev)
		r.log.Info("asking peers to freeze the same incident", "incident", ev.Incident, "peers", r.fleet.peers.Len())
	}
	return res, nil
}

// peerSnapshot freezes the ring for a peer's incident (never broadcast:
// its Origin is set). A refusal (cooling down, busy) becomes 409, so the
// initiator retries.
func (r *Recorder) peerSnapshot(ev bundle.Event) error {
	if _, err := r.request(ev); err != nil {
		if _, ok := errors.AsType[*snapshot.RefusedError](err); ok {
			return fmt.Errorf("%w: %w", control.ErrConflict, err)
		}
		return err
	}
	r.log.Info("peer's trigger: freezing the ring", "incident", ev.Incident, "from", ev.Origin.Host, "reason", ev.Reason)
	return nil
}

// peerStatus is snapshot.Options.Peers: the peers of ev's incident.
func (r *Recorder) peerStatus(ev bundle.Event) []bundle.ManifestPeer {
	if r.fleet.peers == nil || ev.Origin != nil {
		return nil
	}
	return r.fleet.peers.Status(ev.Incident)
}

// ringOldest is the start of the ring's oldest segment (zero if unknown).
func (r *Recorder) ringOldest() time.Time {
	segs, err := ring.List(r.cfg.Ring.Dir)
	if err != nil || len(segs) == 0 {
		return time.Time{}
	}
	return segs[0].Start
}

// fleetAPI is what the HTTP listener serves to other hosts.
func (r *Recorder) fleetAPI() control.FleetAPI {
	api := control.FleetAPI{
		Incident: func(_ context.Context, body []byte) (any, error) {
			rep, err := r.fleet.resp.Handle(body)
			switch {
			case errors.Is(err, peer.ErrRequest):
				return nil, fmt.Errorf("%w: %w", control.ErrBadRequest, err)
			case errors.Is(err, peer.ErrGone):
				return nil, fmt.Errorf("%w: %w", control.ErrGone, err)
			case err != nil:
				return nil, err
			}
			return rep, nil
		},
	}
	if r.fleet.am != nil {
		api.Alertmanager = func(_ context.Context, body []byte) (any, error) {
			rc, err := r.fleet.am.Receive(body, func(ev bundle.Event) error {
				if _, err := r.request(ev); err != nil {
					return err
				}
				r.log.Info("Alertmanager alert: freezing the ring", "target", ev.Target, "reason", ev.Reason, "t", ev.Time)
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("%w: %w", control.ErrBadRequest, err)
			}
			return rc, nil
		}
	}
	return api
}
