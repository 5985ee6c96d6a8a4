// Package recorder runs arpbox: capture sources writing into the ring, triggers freezing it into incident bundles, and the control API, as named tasks under one owner.
package recorder

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/arpbox/arpbox/bundle"
	"github.com/arpbox/arpbox/capture"
	"github.com/arpbox/arpbox/configs"
	"github.com/arpbox/arpbox/control"
	"github.com/arpbox/arpbox/netstate"
	"github.com/arpbox/arpbox/ring"
	"github.com/arpbox/arpbox/snapshot"
	"github.com/arpbox/arpbox/trigger"
	"github.com/arpbox/arpbox/upload"
)

// Options are what a Recorder needs beyond its configuration.
type Options struct {
	// Version is written into every segment and bundle.
	Version string
	// Replay records the frames of this capture file (pcap, pcapng, gzip)
	// instead of capturing live, then stops: no triggers, no snapshots, no
	// control socket.
	Replay string
	// Ready is called once, when recording has started: the ring is open
	// and every live interface is open and capturing. A service manager's readiness
	// (systemd's READY=1, a Windows service's Running state) hangs on it.
	Ready func()
	// Registry receives the recorder's metrics, served on /metrics. nil: a
	// registry of the recorder's own, with the Go runtime's and the
	// process's metrics too. Never the global one.
	Registry *prometheus.Registry
}

// StartError is an error that kept the recorder from starting: nothing was
// recorded. Errors after the start are returned as they are.
type StartError struct{ Err error }

func (e *StartError) Error() string { return e.Err.Error() }
func (e *StartError) Unwrap() error { return e.Err }

// Recorder is one arpbox: it owns the capture sources, the ring, the
// snapshotter, the triggers and the control socket for the length of Run.
type Recorder struct {
	cfg  *configs.Config
	log  *slog.Logger
	opts Options

	started time.Time
	caps    *captures
	first   []*slot // the slots recording from the start, for readiness
	ring    *ringOwner
	snaps   *snapshot.Snapshotter
	journal *netstate.Journal
	metrics *metrics
	fleet   fleet // peers, Alertmanager (fleet.go)
	ready   sync.Once
	reload  reloader // the configuration in force and the reloads (reload.go)
	// stopped is set when Run returns; wasReady once it was ready.
	recording, stopped, wasReady atomic.Bool

	// uploader ships bundles to object storage; nil without upload: (upload.go).
	uploader *upload.Uploader
}

// New returns a recorder for cfg. It opens and starts nothing: Run does.
// A nil log discards.
func New(cfg *configs.Config, log *slog.Logger, opts Options) *Recorder {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Recorder{cfg: cfg, log: log, opts: opts, caps: newCaptures()}
	r.reload.init(cfg)
	return r
}

// Run records until ctx is cancelled or, when replaying, the file ends.
// It returns nil after a clean stop, a *StartError when it could not start,
// and the error of an essential task (capture, the ring) that failed.
func (r *Recorder) Run(ctx context.Context) error {
	defer r.stopped.Store(true)
	r.started = time.Now()
	if r.opts.Replay == "" && r.cfg.NeedsDefaultRoute() {
		if err := resolveDefaultRoute(ctx, r.cfg, r.log); err != nil {
			if ctx.Err() != nil {
				return nil // stopped while waiting
			}
			return &StartError{err}
		}
	}
	if err := r.build(); err != nil {
		return &StartError{err}
	}
	if r.opts.Replay == "" {
		if err := checkWritable("snapshots.dir", r.cfg.Snapshots.Dir); err != nil {
			return &StartError{err}
		}
	}
	if err := r.ring.w.Open(); err != nil {
		return &StartError{err}
	}
	if r.snaps != nil {
		// Another arpbox using snapshots.dir: refuse to start (other
		// errors are the snapshots' to report; recording goes on).
		if err := r.snaps.Open(); errors.Is(err, ring.ErrLocked) {
			return &StartError{errors.Join(err, r.ring.w.Close())}
		}
	}
	var srv *control.Server
	var tasks []task
	if r.opts.Replay == "" {
		srv = control.NewServer(r.cfg.Control.Socket, r.api(), r.log.With("part", "control")).
			WithAccess(control.Access{Group: r.cfg.Control.Group, Mode: r.cfg.Control.Mode})
		l, err := srv.Listen()
		if err != nil {
			return &StartError{errors.Join(err, r.ring.w.Close())}
		}
		defer l.Close()
		tasks = r.helpers(serveAgain(l, srv.Listen, srv.Run))
		tasks = append(tasks, task{name: "config reload", run: r.watchConfig})
		if r.cfg.Control.Listen != "" {
			hl, run, err := r.listenHTTP()
			if err != nil {
				return &StartError{errors.Join(err, r.ring.w.Close())}
			}
			defer hl.Close()
			tasks = append(tasks, task{name: "http api", run: run})
		}
		r.log.Info("arpbox recording",
			"version", r.opts.Version, "config", r.cfg.Source,
			"interfaces", r.cfg.Capture.Interfaces, "filter", r.cfg.Capture.Filter.Text,
			"ring", r.cfg.Ring.Dir, "ring_max", r.cfg.Ring.MaxBytes,
			"snapshots", r.cfg.Snapshots.Dir, "triggers", len(r.cfg.Triggers),
			"control", r.cfg.Control.Socket)
	}

	g, gctx := errgroup.WithContext(ctx)
	captured := make(chan struct{}) // closed when every source has stopped
	g.Go(func() error {
		defer close(captured)
		return r.caps.run(gctx, r.ring.write)
	})
	// The snapshotter stops only after the ring is sealed: a bundle waiting
	// for its after-window is then written from what reached the disk.
	sctx, stopSnapshots := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSnapshots()
	g.Go(func() error {
		defer stopSnapshots()
		return r.ring.tend(captured)
	})
	if r.snaps != nil {
		g.Go(func() error { return r.snaps.Run(sctx) })
	}
	for _, t := range tasks {
		t.start(g, gctx, r.log)
	}
	r.recording.Store(true)
	g.Go(func() error {
		// Ready once every interface is open, or readyWait after the start
		// with the missing ones named: capture waits for them, and a
		// service manager must not kill (systemd's start timeout) or be
		// unable to stop (Windows refuses Stop while starting) a recorder
		// that records what it can.
		t := time.NewTimer(readyWait)
		defer t.Stop()
		for _, s := range r.first {
			if s.live == nil {
				continue
			}
			select {
			case <-s.live.Up():
			case <-t.C:
				var missing []string
				for _, s := range r.first {
					if s.live == nil {
						continue
					}
					select {
					case <-s.live.Up():
					default:
						missing = append(missing, s.name)
					}
				}
				r.log.Warn("ready without every interface: capture waits for the missing ones", "missing", missing)
				r.markReady()
				return nil
			case <-gctx.Done():
				return nil
			}
		}
		r.markReady()
		return nil
	})
	err := g.Wait()
	if err != nil && !r.wasReady.Load() && r.opts.Replay == "" {
		// Failed before it was ever ready (say, capture not permitted):
		// it never started.
		return &StartError{err}
	}
	if r.opts.Replay == "" {
		r.log.Info("arpbox stopped", "uptime", time.Since(r.started).Round(time.Second).String())
	}
	return err
}

// markReady calls Options.Ready once.
func (r *Recorder) markReady() {
	r.wasReady.Store(true)
	if r.opts.Ready != nil {
		r.ready.Do(r.opts.Ready)
	}
}

// build makes the sources, the ring, and (live) the journal, the
// snapshotter and the trigger runner.
func (r *Recorder) build() error {
	cfg := r.cfg
	host, _ := os.Hostname()
	var ifaces []ring.Interface
	wopts := ring.Options{
		Logger:   r.log.With("part", "ring"),
		Hostname: host,
		Version:  r.opts.Version,
		Stats:    r.ifaceStats,
		// Several interfaces' frames in time order: a frame can be late by
		// the capture's hold, a batch's age (100 ms) and slack.
		Reorder: capture.MaxHold + 500*time.Millisecond,
		// A failed snapshot's kept window yields to a ring that needs room.
		Reclaim: func() bool { return r.snaps != nil && r.snaps.ReleaseHeld() },
	}
	if r.opts.Replay != "" {
		src, ifs, err := replaySource(r.opts.Replay, cfg.Capture, host, &wopts)
		if err != nil {
			return err
		}
		r.first = append(r.first, r.caps.newSlot("replay", src, nil, ring.Interface{}))
		ifaces = ifs
	} else {
		for _, name := range cfg.Capture.Interfaces {
			s := r.newLiveSlot(cfg, name)
			r.first = append(r.first, s)
			ifaces = append(ifaces, s.iface)
		}
	}
	r.caps.slots = append([]*slot(nil), r.first...)
	w := ring.NewWriter(cfg.Ring, ifaces, wopts)
	if r.opts.Replay != "" {
		r.ring = newRingOwner(r.log, w, len(ifaces), nil)
		m := newIfaceMap(len(ifaces))
		m.srcs = []capture.Source{r.first[0].src}
		r.ring.ifaces.Store(m)
		return nil
	}

	// A stream check (arp-unanswered, arp-conflict) sees every recorded
	// frame, once one is configured (a reload may add the first).
	observe := func(f capture.Frame) {
		if d := r.reload.detector.Load(); d != nil {
			d.Observe(f.Time, f.Data)
		}
	}
	r.ring = newRingOwner(r.log, w, 0, observe)
	r.ring.ifaces.Store(newIfaceMap(0).next(r.first, r.caps.nextSlotID()))
	if err := r.newMetrics(); err != nil {
		return err
	}
	runner, err := r.newRunner(cfg)
	if err != nil {
		return err
	}
	r.reload.runner.Store(runner)
	r.journal = netstate.NewJournal(r.log.With("part", "journal"), 10000)
	if err := r.buildUpload(); err != nil {
		return err
	}
	r.snaps = snapshot.New(cfg.Snapshots, cfg.Ring.Dir, snapshot.Options{
		Logger:       r.log.With("part", "snapshot"),
		Hostname:     host,
		Version:      r.opts.Version,
		ConfigDigest: cfg.Digest,
		Interfaces:   cfg.Capture.Interfaces,
		Collectors:   []snapshot.Collector{snapshot.NewNetstateCollector(r.journal), reportCollector{journal: r.journal}},
		Hold:         r.hold(),
		Flush:        r.ring.flush,
		Observe:      r.observeSnapshot,
		Keep:         r.keepBundle,
		Peers:        r.peerStatus,
	})
	return r.buildFleet(host)
}

// hold is how long a frame may take to reach the ring after it arrived:
// a live capture's OS buffer holds it up to capture.MaxHold; a replayed
// file holds nothing (0: the snapshotter's default).
func (r *Recorder) hold() time.Duration {
	if r.opts.Replay != "" {
		return 0
	}
	return capture.MaxHold
}

// helpers are the tasks around the recording: the journal, the triggers
// and the control socket (serve).
func (r *Recorder) helpers(serve func(context.Context) error) []task {
	ts := []task{
		{name: "journal", run: func(ctx context.Context) error {
			err := r.journal.Run(ctx)
			if errors.Is(err, errors.ErrUnsupported) {
				// Bundles then carry no journal; recording goes on.
				r.log.Warn("no neighbor/link journal on this platform", "err", err)
				<-ctx.Done()
				return nil
			}
			return err
		}},
		{name: "triggers", run: r.runTriggers},
		{name: "signal trigger", run: func(ctx context.Context) error { return trigger.NewSignalSource().Run(ctx, r.onEvent) }},
		{name: "control socket", run: serve},
	}
	ts = append(ts, r.uploadTasks()...)
	if f := r.cfg.Control.TriggerFile; f != "" {
		src := trigger.NewFileSource(f, r.log.With("part", "trigger-file"))
		ts = append(ts, task{name: "trigger file", run: func(ctx context.Context) error { return src.Run(ctx, r.onEvent) }})
	}
	return append(ts, r.fleetTasks()...)
}

// ifaceStats returns the counters of the source recorded as ring interface
// i (called by the ring writer, under the ring owner's lock).
func (r *Recorder) ifaceStats(i int) (recv, drop uint64) {
	src := r.ring.ifaces.Load().src(i)
	if src == nil {
		return 0, 0
	}
	s := src.Stats()
	return s.Received, s.Dropped
}

// onEvent hands a trigger's event to the snapshotter, which logs what
// becomes of it.
func (r *Recorder) onEvent(ev bundle.Event) {
	if _, err := r.request(ev); err != nil { // fleet.go: incident id, peers
		r.log.Warn("trigger fired, no snapshot", "trigger", ev.Trigger, "reason", ev.Reason, "err", err)
		return
	}
	r.log.Info("trigger fired: freezing the ring", "trigger", ev.Trigger, "check", ev.Check, "target", ev.Target, "reason", ev.Reason)
}

// readyWait is how long Ready waits for missing interfaces.
const readyWait = 20 * time.Second

// aliveWait is how long Alive waits for the ring's lock: far longer than
// any healthy write (a 1 MiB flush), far shorter than a service watchdog.
const aliveWait = 2 * time.Second

// Alive reports whether the recorder works, for a service manager's
// watchdog: starting (say, waiting for a default route) is working; once
// recording, the ring writer must not be stuck (a capture goroutine stuck
// on the ring shows there too; one whose socket failed for good stops
// Run); after Run, it is not.
func (r *Recorder) Alive() error {
	switch {
	case r.stopped.Load():
		return errors.New("stopped")
	case !r.recording.Load():
		return nil
	}
	return r.ring.alive(aliveWait)
}
