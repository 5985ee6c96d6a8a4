// Package recorder runs arpbox: capture sources writing into the ring, triggers freezing it into incident bundles, and the control API, as named tasks under one owner.
package recorder

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/arpbox/arpbox/analyze"
	"github.com/arpbox/arpbox/bundle"
	"github.com/arpbox/arpbox/capture"
	"github.com/arpbox/arpbox/configs"
	"github.com/arpbox/arpbox/control"
	"github.com/arpbox/arpbox/netstate"
	"github.com/arpbox/arpbox/ring"
	"github.com/arpbox/arpbox/snapshot"
	"github.com/arpbox/arpbox/trigger"
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
	sources []capture.Source
	lives   []*capture.Live // the live ones among sources
	ring    *ringOwner
	runner  *trigger.Runner
	snaps   *snapshot.Snapshotter
	journal *netstate.Journal
	metrics *metrics
	ready   sync.Once
	// stopped is set when Run returns; wasReady once it was ready.
	recording, stopped, wasReady atomic.Bool
}

// New returns a recorder for cfg. It opens and starts nothing: Run does.
// A nil log discards.
func New(cfg *configs.Config, log *slog.Logger, opts Options) *Recorder {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Recorder{cfg: cfg, log: log, opts: opts}
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
		cg, cctx := errgroup.WithContext(gctx)
		for _, s := range r.sources {
			cg.Go(func() error { return s.Run(cctx, r.ring.write) })
		}
		return cg.Wait()
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
		for _, l := range r.lives {
			select {
			case <-l.Up():
			case <-t.C:
				var missing []string
				for i, l := range r.lives {
					select {
					case <-l.Up():
					default:
						missing = append(missing, r.cfg.Capture.Interfaces[i])
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
	if r.opts.Replay != "" {
		src := capture.NewFileSource(r.opts.Replay, cfg.Capture.Filter)
		names, err := src.Interfaces()
		if err != nil {
			return err
		}
		r.sources = append(r.sources, src)
		for _, n := range names {
			ifaces = append(ifaces, ring.Interface{Name: n, Description: "replayed from " + r.opts.Replay,
				Filter: cfg.Capture.Filter.Text, OS: runtime.GOOS, SnapLen: cfg.Capture.SnapLen})
		}
	} else {
		for i, name := range cfg.Capture.Interfaces {
			live := capture.NewLive(capture.LiveConfig{
				Iface:       name,
				Index:       i,
				Filter:      cfg.Capture.Filter,
				SnapLen:     cfg.Capture.SnapLen,
				Promiscuous: cfg.Capture.Promiscuous,
				BufferBytes: cfg.Capture.BufferBytes,
			}, r.log)
			r.lives = append(r.lives, live)
			r.sources = append(r.sources, live)
			ifaces = append(ifaces, ring.Interface{Name: name, Filter: cfg.Capture.Filter.Text, OS: runtime.GOOS, SnapLen: cfg.Capture.SnapLen})
		}
	}
	w := ring.NewWriter(cfg.Ring, ifaces, ring.Options{
		Logger:   r.log.With("part", "ring"),
		Hostname: host,
		Version:  r.opts.Version,
		Stats:    r.ifaceStats,
	})
	if r.opts.Replay != "" {
		r.ring = newRingOwner(r.log, w, len(ifaces), nil)
		return nil
	}

	// A stream check (arp-unanswered, arp-conflict) sees every recorded frame.
	var detector *analyze.Detector
	for _, t := range cfg.Triggers {
		if t.Check == trigger.CheckARPUnanswered || t.Check == trigger.CheckARPConflict {
			detector = analyze.NewDetector(analyze.DetectorConfig{})
			break
		}
	}
	var observe func(capture.Frame)
	ropts := trigger.RunnerOptions{Logger: r.log.With("part", "trigger")}
	if detector != nil { // never a nil *analyze.Detector in the interface
		observe = func(f capture.Frame) { detector.Observe(f.Time, f.Data) }
		ropts.Detector = detector
	}
	r.ring = newRingOwner(r.log, w, len(ifaces), observe)
	if err := r.newMetrics(); err != nil {
		return err
	}
	ropts.Observe = r.metrics.observeProbe
	runner, err := trigger.NewRunner(cfg.Triggers, ropts)
	if err != nil {
		return err
	}
	r.runner = runner
	r.journal = netstate.NewJournal(r.log.With("part", "journal"), 10000)
	r.snaps = snapshot.New(cfg.Snapshots, cfg.Ring.Dir, snapshot.Options{
		Logger:       r.log.With("part", "snapshot"),
		Hostname:     host,
		Version:      r.opts.Version,
		ConfigDigest: cfg.Digest,
		Interfaces:   cfg.Capture.Interfaces,
		Collectors:   []snapshot.Collector{snapshot.NewNetstateCollector(r.journal), reportCollector{journal: r.journal}},
		Flush:        r.ring.flush,
		Observe:      r.metrics.observeSnapshot,
	})
	return nil
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
		{name: "triggers", run: func(ctx context.Context) error { return r.runner.Run(ctx, r.onEvent) }},
		{name: "signal trigger", run: func(ctx context.Context) error { return trigger.NewSignalSource().Run(ctx, r.onEvent) }},
		{name: "control socket", run: serve},
	}
	if f := r.cfg.Control.TriggerFile; f != "" {
		src := trigger.NewFileSource(f, r.log.With("part", "trigger-file"))
		ts = append(ts, task{name: "trigger file", run: func(ctx context.Context) error { return src.Run(ctx, r.onEvent) }})
	}
	return ts
}

func (r *Recorder) ifaceStats(i int) (recv, drop uint64) {
	if i < 0 || i >= len(r.sources) {
		return 0, 0
	}
	s := r.sources[i].Stats()
	return s.Received, s.Dropped
}

// onEvent hands a trigger's event to the snapshotter, which logs what
// becomes of it.
func (r *Recorder) onEvent(ev bundle.Event) {
	if _, err := r.snaps.Request(ev); err != nil {
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
