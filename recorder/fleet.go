package recorder

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/arpbox/arpbox/bundle"
	"github.com/arpbox/arpbox/control"
	"github.com/arpbox/arpbox/peer"
	"github.com/arpbox/arpbox/ring"
	"github.com/arpbox/arpbox/snapshot"
	"github.com/arpbox/arpbox/trigger"
)

// Fleet metric names.
const (
	MetricPeerIncidents = "arpbox_peer_incidents_total"         // {peer, state}: incidents sent, by final state
	MetricPeerFailures  = "arpbox_peer_request_failures_total"  // {peer}: failed attempts, retried or not
	MetricPeerReceived  = "arpbox_peer_requests_received_total" // {result}: incidents peers asked of this host
	MetricAlerts        = "arpbox_alertmanager_alerts_total"    // {result}: alerts received from Alertmanager
)

// fleetMetrics are the fleet's counters.
type fleetMetrics struct {
	incidents *prometheus.CounterVec
	failures  *prometheus.CounterVec
	received  *prometheus.CounterVec
	alerts    *prometheus.CounterVec
}

func newFleetMetrics(reg prometheus.Registerer, peers []peer.Config) (*fleetMetrics, error) {
	m := &fleetMetrics{
		incidents: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricPeerIncidents,
			Help: "Incidents this host asked a peer to freeze, by how it ended: ok (the peer froze it) or missing (given up)."}, []string{"peer", "state"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricPeerFailures,
			Help: "Requests to a peer that failed (down, slow, busy, refused), retried or not."}, []string{"peer"}),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricPeerReceived,
			Help: "Incidents peers asked this host to freeze: frozen, repeat (already frozen) or refused."}, []string{"result"}),
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricAlerts,
			Help: "Alerts received from Alertmanager: fired (a snapshot), repeated (episode seen before), refused (no snapshot), ignored (resolved or not matching)."}, []string{"result"}),
	}
	for _, p := range peers {
		m.incidents.WithLabelValues(p.Name, bundle.PeerOK)
		m.incidents.WithLabelValues(p.Name, bundle.PeerMissing)
		m.failures.WithLabelValues(p.Name)
	}
	for _, r := range []string{"frozen", "repeat", "refused"} {
		m.received.WithLabelValues(r)
	}
	for _, r := range []string{"fired", "repeated", "refused", "ignored"} {
		m.alerts.WithLabelValues(r)
	}
	for _, c := range []prometheus.Collector{m.incidents, m.failures, m.received, m.alerts} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("fleet metrics: %w", err)
		}
	}
	return m, nil
}

func (m *fleetMetrics) observePeer(name, result string) {
	if result == "failed" {
		m.failures.WithLabelValues(name).Inc()
		return
	}
	m.incidents.WithLabelValues(name, result).Inc()
}

func (m *fleetMetrics) observeReceipt(rc trigger.Receipt) {
	m.alerts.WithLabelValues("fired").Add(float64(rc.Fired))
	m.alerts.WithLabelValues("repeated").Add(float64(rc.Repeated))
	m.alerts.WithLabelValues("refused").Add(float64(rc.Refused))
	m.alerts.WithLabelValues("ignored").Add(float64(rc.Alerts - rc.Matched))
}

// fleet is the recorder's part in a fleet of arpboxes: the peers it asks
// to freeze its incidents, the responder that answers theirs, and the
// Alertmanager webhook.
type fleet struct {
	host  string
	peers *peer.Fleet // nil without peers:
	resp  *peer.Responder
	am    *trigger.AlertmanagerSource // nil without alertmanager:
	m     *fleetMetrics
}

// buildFleet makes the fleet's parts (reading the peers' token and CA
// files). It starts nothing.
func (r *Recorder) buildFleet(host string) error {
	f := &r.fleet
	f.host = host
	log := r.log.With("part", "peers")
	m, err := newFleetMetrics(r.opts.Registry, r.cfg.Fleet.Peers)
	if err != nil {
		return err
	}
	f.m = m
	if len(r.cfg.Fleet.Peers) > 0 {
		p, err := peer.New(r.cfg.Fleet.Peers, peer.Options{Host: host, Logger: log, Observe: m.observePeer})
		if err != nil {
			return err
		}
		f.peers = p
	}
	f.resp = peer.NewResponder(peer.ResponderOptions{Host: host, Logger: log, Snapshot: r.peerSnapshot, Oldest: r.ringOldest,
		Observe: func(res string) { m.received.WithLabelValues(res).Inc() }})
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
			r.fleet.m.observeReceipt(rc)
			return rc, nil
		}
	}
	return api
}
