package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

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

func cmdRun(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "configuration `file` (default: the embedded default)")
	replay := fs.String("replay", "", "record frames from a pcap or pcapng `file` into the ring instead of capturing live, then exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := configs.Load(*configPath)
	if err != nil {
		fmt.Fprintf(stderr, "arpbox: %v\n", err)
		return 2
	}
	log := newLogger(cfg.Log, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first signal, a second one kills the process the default
	// way, should a clean shutdown hang (say, on a dead disk).
	context.AfterFunc(ctx, stop)

	if *replay == "" && cfg.NeedsDefaultRoute() {
		iface, gw, err := waitDefaultRoute(ctx, log)
		if ctx.Err() != nil {
			return 0
		}
		if err != nil {
			fmt.Fprintf(stderr, "arpbox: %s leaves the interface or a trigger target to the default route, but: %v\n"+
				"arpbox: name the interface in capture.interfaces (and targets in triggers) in a config file\n", cfg.Source, err)
			return 2
		}
		gateway := ""
		if gw.IsValid() {
			gateway = gw.String()
		}
		dropped := cfg.ResolveGateway(iface, gateway)
		log.Info("using the default route", "interface", iface, "gateway", gateway)
		if len(dropped) > 0 {
			log.Warn("the default route has no gateway: triggers on the gateway are off", "triggers", dropped)
		}
	}
	d, err := newDaemon(cfg, log, *replay)
	if err != nil {
		log.Error("arpbox cannot start", "err", err)
		return 1
	}
	if err := d.run(ctx); err != nil {
		log.Error("arpbox stopped", "err", err)
		return 1
	}
	return 0
}

// waitDefaultRoute returns the default route, waiting for one to appear
// (at boot, DHCP may not be done yet): recording late beats not at all.
func waitDefaultRoute(ctx context.Context, log *slog.Logger) (string, netip.Addr, error) {
	for logged := false; ; logged = true {
		iface, gw, err := netstate.DefaultRoute(ctx)
		if !errors.Is(err, netstate.ErrNoDefaultRoute) {
			return iface, gw, err
		}
		if !logged {
			log.Warn("no default route yet: waiting for one, to know which interface to record and which gateway to watch")
		}
		select {
		case <-ctx.Done():
			return "", netip.Addr{}, ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

func newLogger(c configs.Log, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.Level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// daemon is arpbox run: the capture sources feeding the ring, and the
// triggers feeding the snapshotter.
type daemon struct {
	cfg    *configs.Config
	log    *slog.Logger
	replay string

	lives   []*capture.Live
	ring    *ring.Writer
	journal *netstate.Journal
	snaps   *snapshot.Snapshotter
	runner  *trigger.Runner
	// detector sees every recorded frame when a stream check
	// (arp-unanswered, arp-conflict) needs it; nil otherwise.
	detector *analyze.Detector
	started  time.Time

	// ringMu serialises the ring's users: each capture goroutine writes
	// its batches itself, the snapshotter flushes, and tend ticks and
	// closes it.
	ringMu   sync.Mutex
	tendAt   time.Time     // when tend next wakes to tick the ring; guarded by ringMu
	tendPoke chan struct{} // a writer made the ring's next tick earlier than tendAt
	badWrite atomic.Bool
}

func newDaemon(cfg *configs.Config, log *slog.Logger, replay string) (*daemon, error) {
	d := &daemon{cfg: cfg, log: log, replay: replay, tendPoke: make(chan struct{}, 1)}
	host, _ := os.Hostname()

	var ifaces []ring.Interface
	if replay != "" {
		names, err := capture.FileInterfaces(replay)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			ifaces = append(ifaces, ring.Interface{Name: n, Description: "replayed from " + replay, Filter: cfg.Capture.Filter.Text, OS: runtime.GOOS, SnapLen: cfg.Capture.SnapLen})
		}
	} else {
		for i, name := range cfg.Capture.Interfaces {
			lc := capture.LiveConfig{
				Iface:       name,
				Index:       i,
				Filter:      cfg.Capture.Filter,
				SnapLen:     cfg.Capture.SnapLen,
				Promiscuous: cfg.Capture.Promiscuous,
				BufferBytes: cfg.Capture.BufferBytes,
			}
			d.lives = append(d.lives, capture.NewLive(lc, log))
			ifaces = append(ifaces, ring.Interface{Name: name, Filter: cfg.Capture.Filter.Text, OS: runtime.GOOS, SnapLen: cfg.Capture.SnapLen})
		}
	}
	d.ring = ring.NewWriter(cfg.Ring, ifaces, ring.Options{
		Logger:   log.With("part", "ring"),
		Hostname: host,
		Version:  appVersion(),
		Stats:    d.ifaceStats,
	})
	if replay != "" {
		return d, nil
	}

	d.journal = netstate.NewJournal(log.With("part", "journal"), 10000)
	collectors := []snapshot.Collector{
		snapshot.NewNetstateCollector(d.journal),
		reportCollector{journal: d.journal},
	}
	d.snaps = snapshot.New(cfg.Snapshots, cfg.Ring.Dir, snapshot.Options{
		Logger:       log.With("part", "snapshot"),
		Hostname:     host,
		Version:      appVersion(),
		ConfigDigest: cfg.Digest,
		Interfaces:   cfg.Capture.Interfaces,
		Collectors:   collectors,
		Flush:        d.flushRing,
	})
	for _, t := range cfg.Triggers {
		if t.Check == trigger.CheckARPUnanswered || t.Check == trigger.CheckARPConflict {
			d.detector = analyze.NewDetector(analyze.DetectorConfig{})
			break
		}
	}
	runner, err := trigger.NewRunner(cfg.Triggers, trigger.RunnerOptions{Logger: log.With("part", "trigger"), Detector: d.detector})
	if err != nil {
		return nil, err
	}
	d.runner = runner
	return d, nil
}

func (d *daemon) ifaceStats(i int) (recv, drop uint64) {
	if i < 0 || i >= len(d.lives) {
		return 0, 0
	}
	s := d.lives[i].Stats()
	return s.Received, s.Dropped
}

// run records until ctx is cancelled (or, when replaying, the file ends).
func (d *daemon) run(ctx context.Context) error {
	d.started = time.Now()
	if err := d.ring.Open(); err != nil {
		return err
	}

	if d.replay != "" {
		batches := make(chan *capture.Batch, 64)
		errc := make(chan error, 1)
		go func() {
			errc <- capture.ReplayFile(ctx, d.replay, d.cfg.Capture.Filter, batches)
			close(batches)
		}()
		for b := range batches {
			d.write(b)
		}
		return errors.Join(<-errc, d.ring.Close())
	}

	srv := control.NewServer(d.cfg.Control.Socket, d.api(), d.log.With("part", "control"))
	l, err := srv.Listen()
	if err != nil {
		_ = d.ring.Close()
		return err
	}
	defer l.Close()

	d.log.Info("arpbox recording",
		"version", appVersion(), "config", d.cfg.Source,
		"interfaces", d.cfg.Capture.Interfaces, "filter", d.cfg.Capture.Filter.Text,
		"ring", d.cfg.Ring.Dir, "ring_max", d.cfg.Ring.MaxBytes,
		"snapshots", d.cfg.Snapshots.Dir, "triggers", len(d.cfg.Triggers),
		"control", d.cfg.Control.Socket)

	// Capture and the ring are the recorder: their failure ends the run.
	// Everything else is a helper whose failure is logged and retried, so a
	// broken trigger file or netlink socket never stops the recording.
	g, gctx := errgroup.WithContext(ctx)
	// The snapshotter stops only after the ring is sealed: a bundle waiting
	// for its after-window is then written from what reached the disk.
	sctx, stopSnapshots := context.WithCancel(context.WithoutCancel(ctx))
	captured := make(chan struct{}) // closed when every source has stopped
	g.Go(func() error {
		defer close(captured)
		cg, cctx := errgroup.WithContext(gctx)
		for _, l := range d.lives {
			cg.Go(func() error { return l.RunFunc(cctx, d.write) })
		}
		return cg.Wait()
	})
	// The ring is sealed once every source has stopped, so the last frames
	// land in the sealed segment.
	g.Go(func() error {
		defer stopSnapshots()
		return d.tend(captured)
	})
	g.Go(func() error { return d.snaps.Run(sctx) })
	d.helper(g, gctx, "journal", func(ctx context.Context) error {
		err := d.journal.Run(ctx)
		if errors.Is(err, netstate.ErrUnsupported) {
			// Bundles then carry no journal; recording goes on.
			d.log.Warn("no neighbor/link journal on this platform", "err", err)
			<-ctx.Done()
			return nil
		}
		return err
	})
	d.helper(g, gctx, "triggers", func(ctx context.Context) error { return d.runner.Run(ctx, d.onEvent) })
	d.helper(g, gctx, "signal trigger", func(ctx context.Context) error {
		return trigger.NewSignalSource().Run(ctx, d.onEvent)
	})
	if d.cfg.Control.TriggerFile != "" {
		fsrc := trigger.NewFileSource(d.cfg.Control.TriggerFile, d.log.With("part", "trigger-file"))
		d.helper(g, gctx, "trigger file", func(ctx context.Context) error { return fsrc.Run(ctx, d.onEvent) })
	}
	d.helper(g, gctx, "control socket", func(ctx context.Context) error { return srv.Run(ctx, l) })
	err = g.Wait()
	d.log.Info("arpbox stopped", "uptime", time.Since(d.started).Round(time.Second).String())
	return err
}

// helper runs fn under g, restarting it with backoff (1 s doubling to
// 1 min) whenever it fails; a failure is logged, never fatal.
func (d *daemon) helper(g *errgroup.Group, ctx context.Context, name string, fn func(context.Context) error) {
	g.Go(func() error {
		backoff := time.Second
		for {
			err := fn(ctx)
			if err == nil || ctx.Err() != nil {
				return nil // done, or stopping
			}
			d.log.Error("helper failed; recording goes on, retrying", "helper", name, "err", err, "retry_in", backoff)
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
			backoff = min(2*backoff, time.Minute)
		}
	})
}

// write records a batch; the capture goroutines call it themselves (no
// handoff to another goroutine: that was most of the CPU of sparse ARP and
// a quarter of a storm's). After a drained batch (the source is about to
// sleep) the ring writes to the file at once, so trickling ARP costs one
// wakeup per kernel block and no timer of ours; the ring's timed work is
// done here when due, or by tend when no batch comes.
func (d *daemon) write(b *capture.Batch) {
	if d.detector != nil {
		for _, f := range b.Frames {
			d.detector.Observe(f.Time, f.Data)
		}
	}
	d.ringMu.Lock()
	for _, f := range b.Frames {
		// Disk errors are the ring's to log, count and survive; an error
		// here is a bug (an interface the ring doesn't know).
		if err := d.ring.WritePacket(b.Iface, f.Time, f.Length, f.Data); err != nil {
			if !d.badWrite.Swap(true) {
				d.log.Error("recording a frame failed (logged once)", "iface", b.Iface, "err", err)
			}
			break
		}
	}
	now := time.Now()
	if b.Drained {
		d.ring.Drained(now)
	}
	if due := d.ring.NextTick(now); !due.IsZero() && !now.Before(due) {
		d.tickLocked(now)
	}
	sooner := d.soonerLocked(now)
	d.ringMu.Unlock()
	b.Release()
	if sooner {
		d.pokeTend()
	}
}

// soonerLocked reports whether the ring's timed work is now due before
// tend's timer (writing made it so); the caller holds ringMu and, when it
// is, pokes tend after unlocking.
func (d *daemon) soonerLocked(now time.Time) bool {
	due := d.ring.NextTick(now)
	return !due.IsZero() && due.Before(d.tendAt)
}

func (d *daemon) pokeTend() {
	select {
	case d.tendPoke <- struct{}{}:
	default: // tend has a poke waiting already
	}
}

func (d *daemon) tickLocked(now time.Time) {
	if err := d.ring.Tick(now); err != nil {
		d.log.Warn("ring", "err", err)
	}
}

// tend does the ring's timed work when no batch does it (it sleeps until
// the ring's next tick, which is seconds away while ARP trickles in and
// drained batches keep the file flushed), and closes the ring once
// captured is closed.
func (d *daemon) tend(captured <-chan struct{}) error {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	// arm sets the timer for the ring's next tick; the caller holds ringMu.
	arm := func(now time.Time) {
		next := d.ring.NextTick(now)
		if next.IsZero() { // not open; nothing to do but wait for captured
			next = now.Add(time.Hour)
		}
		d.tendAt = next
		timer.Reset(next.Sub(now))
	}
	d.ringMu.Lock()
	arm(time.Now())
	d.ringMu.Unlock()
	for {
		select {
		case <-timer.C:
			d.ringMu.Lock()
			now := time.Now()
			if due := d.ring.NextTick(now); !due.IsZero() && !now.Before(due) {
				d.tickLocked(now)
			}
			arm(now)
			d.ringMu.Unlock()
		case <-d.tendPoke:
			d.ringMu.Lock()
			arm(time.Now())
			d.ringMu.Unlock()
		case <-captured:
			d.ringMu.Lock()
			defer d.ringMu.Unlock()
			return d.ring.Close()
		}
	}
}

// flushRing writes frames buffered in the ring to its file (for the
// snapshotter, before it reads the current segment).
func (d *daemon) flushRing() error {
	d.ringMu.Lock()
	err := d.ring.Flush()
	sooner := d.soonerLocked(time.Now()) // a failed write asks for a retry
	d.ringMu.Unlock()
	if sooner {
		d.pokeTend()
	}
	return err
}

// onEvent hands a trigger's event to the snapshotter, which logs what
// becomes of it.
func (d *daemon) onEvent(ev bundle.Event) {
	if _, err := d.snaps.Request(ev); err != nil {
		d.log.Warn("trigger fired, no snapshot", "trigger", ev.Trigger, "reason", ev.Reason, "err", err)
		return
	}
	d.log.Info("trigger fired: freezing the ring", "trigger", ev.Trigger, "check", ev.Check, "target", ev.Target, "reason", ev.Reason)
}

func (d *daemon) api() control.API {
	return control.API{
		Snapshot: func(ctx context.Context, reason string) (control.SnapshotReply, error) {
			ev := trigger.Manual(reason, "api")
			res, err := d.snaps.Request(ev)
			if err != nil {
				return control.SnapshotReply{}, err
			}
			select {
			case r := <-res:
				if r.Err != nil {
					return control.SnapshotReply{}, r.Err
				}
				return control.SnapshotReply{ID: r.ID, Dir: r.Dir, Zip: r.Zip}, nil
			case <-ctx.Done():
				return control.SnapshotReply{}, ctx.Err()
			}
		},
		Snapshots: func() (any, error) { return snapshot.List(d.cfg.Snapshots.Dir) },
		Status:    d.status,
	}
}

// status is what `arpbox status` shows.
type status struct {
	Version    string                `json:"version"`
	Config     string                `json:"config"`
	Started    time.Time             `json:"started"`
	Interfaces []ifaceStatus         `json:"interfaces"`
	Ring       ring.Stats            `json:"ring"`
	Triggers   []trigger.CheckStatus `json:"triggers"`
}

type ifaceStatus struct {
	Name string `json:"name"`
	capture.Stats
}

func (d *daemon) status() any {
	st := status{Version: appVersion(), Config: d.cfg.Source, Started: d.started, Triggers: d.runner.Status()}
	for i, l := range d.lives {
		st.Interfaces = append(st.Interfaces, ifaceStatus{Name: d.cfg.Capture.Interfaces[i], Stats: l.Stats()})
	}
	st.Ring = d.ring.Stats() // safe for concurrent use
	return st
}
