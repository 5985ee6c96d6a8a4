package recorder

import (
	"context"
	"time"

	"github.com/arpbox/arpbox/bundle"
	"github.com/arpbox/arpbox/capture"
	"github.com/arpbox/arpbox/control"
	"github.com/arpbox/arpbox/ring"
	"github.com/arpbox/arpbox/snapshot"
	"github.com/arpbox/arpbox/trigger"
	"github.com/arpbox/arpbox/upload"
)

// api is what the control socket serves.
func (r *Recorder) api() control.API {
	api := control.API{
		Snapshot:  r.snapshotNow,
		Snapshots: func() (any, error) { return snapshot.List(r.cfg.Snapshots.Dir) },
		Status:    func() any { return r.Status() },
		Bundle:    r.bundleZip,
		Healthz:   r.Alive,
	}
	if r.opts.Registry != nil {
		api.Metrics = metricsHandler(r.opts.Registry)
	}
	return api
}

// snapshotNow fires a manual trigger and waits for its bundle.
func (r *Recorder) snapshotNow(ctx context.Context, reason string) (control.SnapshotReply, error) {
	res, err := r.request(trigger.Manual(reason, "api")) // fleet.go: incident id, peers
	if err != nil {
		return control.SnapshotReply{}, err
	}
	select {
	case res := <-res:
		if res.Err != nil {
			return control.SnapshotReply{}, res.Err
		}
		return control.SnapshotReply{ID: res.ID, Dir: res.Dir, Zip: res.Zip}, nil
	case <-ctx.Done():
		return control.SnapshotReply{}, ctx.Err()
	}
}

// Status is what `arpbox status` shows.
type Status struct {
	Version    string            `json:"version"`
	Config     string            `json:"config"`
	Started    time.Time         `json:"started"`
	Interfaces []InterfaceStatus `json:"interfaces"`
	Ring       ring.Stats        `json:"ring"`
	Triggers   []TriggerStatus   `json:"triggers"`

	// ConfigDigest is the SHA-256 of the configuration in force.
	ConfigDigest string `json:"config_digest"`
	// LastReload is the last configuration reload's outcome; nil before one.
	LastReload *ReloadStatus `json:"last_reload,omitempty"`
	// Upload is the upload queue (with an upload: section).
	Upload *upload.QueueState `json:"upload,omitempty"`
	// Peers is the latest incident sent to the peers and each peer's
	// state in it (with peers:).
	Peers *PeersStatus `json:"peers,omitempty"`
}

// PeersStatus is the latest incident this host asked its peers to freeze.
type PeersStatus struct {
	Incident string                `json:"last_incident,omitempty"` // empty before the first
	States   []bundle.ManifestPeer `json:"states,omitempty"`
}

// TriggerStatus is one trigger's state and its last probe.
type TriggerStatus struct {
	trigger.CheckStatus
	// LastResult is "ok" or "failed"; empty before the first probe.
	LastResult string `json:"last_result,omitempty"`
	// LastLatency is how long the last probe took, in seconds.
	LastLatency float64 `json:"last_latency_seconds,omitempty"`
}

// InterfaceStatus is one capture source's counters.
type InterfaceStatus struct {
	Name string `json:"name"`
	capture.Stats
	// FramesRecorded and BytesRecorded count what reached the ring.
	FramesRecorded uint64 `json:"frames_recorded"`
	BytesRecorded  uint64 `json:"bytes_recorded"`
}

// Status reports what the recorder is doing; safe for concurrent use once
// Run has started recording.
func (r *Recorder) Status() Status {
	st := Status{Version: r.opts.Version, Config: r.cfg.Source, Started: r.started,
		ConfigDigest: r.config().Digest, LastReload: r.reload.last.Load()}
	if runner := r.runnerNow(); runner != nil {
		for _, cs := range runner.Status() {
			ts := TriggerStatus{CheckStatus: cs}
			if p, ok := r.metrics.lastProbeOf(cs.Name); ok {
				ts.LastResult, ts.LastLatency = "failed", p.took.Seconds()
				if p.ok {
					ts.LastResult = "ok"
				}
			}
			st.Triggers = append(st.Triggers, ts)
		}
	}
	for _, s := range r.caps.list() {
		is := InterfaceStatus{Name: s.name, Stats: s.src.Stats()}
		if r.ring != nil {
			is.FramesRecorded, is.BytesRecorded = r.ring.counts(s.id)
		}
		st.Interfaces = append(st.Interfaces, is)
	}
	if r.ring != nil {
		st.Ring = r.ring.w.Stats() // safe for concurrent use
	}
	if r.uploader != nil {
		us := r.uploader.State()
		st.Upload = &us
	}
	if r.fleet.peers != nil {
		ps := &PeersStatus{}
		ps.Incident, ps.States = r.fleet.peers.Last()
		st.Peers = ps
	}
	return st
}
