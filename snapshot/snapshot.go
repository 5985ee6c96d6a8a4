// Package snapshot freezes the ring around an incident and writes a self-explaining bundle.
//
// On a trigger at time T the Snapshotter hard-links every ring segment that
// overlaps [T-before, T] into a hidden staging directory inside
// snapshots.dir (O(1): ring pruning then only removes the ring's name, the
// data stays), records host state that must be taken at T (Freezer
// collectors), waits until T+after, links the segments covering [T, T+after],
// and writes one bundle: a time-ordered pcapng holding exactly the window
// with the incident marked, the collectors' files, manifest.json and
// README.txt. The bundle is published by rename and packed as <id>.zip.
//
// snapshots.dir must be on the same filesystem as the ring for the freeze to
// be O(1); otherwise segments are copied (logged).
package snapshot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arpbox/arpbox/bundle"
	"github.com/arpbox/arpbox/ring"
)

// Sentinel errors; Request wraps the refusals in a *RefusedError.
var (
	// ErrCooldown: a snapshot was accepted less than snapshots.cooldown ago.
	ErrCooldown = errors.New("snapshot: cooling down after the previous snapshot")
	// ErrBusy: one snapshot is being written and another is already queued.
	ErrBusy = errors.New("snapshot: another snapshot is already queued")
	// ErrClosed: the snapshotter's Run has returned.
	ErrClosed = errors.New("snapshot: snapshotter is not running")
	// ErrNoSpace: snapshots.dir has too little free space for the bundle;
	// its frozen segments are kept (see Snapshotter).
	ErrNoSpace = errors.New("snapshot: not enough free space in snapshots.dir")
	// ErrLostSegments: a snapshot's frozen segments were removed from its
	// staging directory before the bundle was written.
	ErrLostSegments = errors.New("snapshot: frozen segments were removed before the bundle was written")
)

// RefusedError says why a request was refused and when to try again.
type RefusedError struct {
	Err   error     // ErrCooldown or ErrBusy
	Until time.Time // when the cooldown ends; zero if not known
}

func (e *RefusedError) Error() string {
	if e.Until.IsZero() {
		return e.Err.Error()
	}
	return fmt.Sprintf("%v until %s", e.Err, e.Until.UTC().Format(time.RFC3339))
}

func (e *RefusedError) Unwrap() error { return e.Err }

// Result is the outcome of one snapshot request.
type Result struct {
	ID  string
	Dir string // published bundle directory
	Zip string // <Dir>.zip
	Err error
}

// Options are the snapshotter's dependencies; all are optional.
type Options struct {
	Logger *slog.Logger     // nil = discard
	Now    func() time.Time // nil = time.Now
	// Sleep waits for d or until ctx is done; nil = a timer. Tests inject it
	// together with Now.
	Sleep func(ctx context.Context, d time.Duration) error
	// Mono is a monotonic clock (any origin) beside Now: the after-window
	// is waited for on it, so that a step of the wall clock neither cuts
	// it short nor stretches it. nil = the monotonic reading of Now.
	Mono         func() time.Duration
	Hostname     string
	Version      string   // arpbox version
	ConfigDigest string   // digest of the running configuration, copied into the manifest
	Interfaces   []string // configured capture interfaces, listed in the manifest
	Collectors   []Collector
	// Hold is the longest the capture holds a frame before the ring has
	// it (capture.MaxHold); 0 means one second. The snapshotter waits
	// that long and settleMargin more past the after-window, so its last
	// frames are in the ring.
	Hold time.Duration
	// Flush asks the ring owner to write what it buffers to the current
	// segment's file; the snapshotter calls it after waiting out Hold,
	// before reading the ring (without it, it relies on the ring's
	// once-a-second flush).
	Flush func() error
	// Observe, if set, is told each bundle's outcome once written (err nil)
	// or failed, and how long its processing took, the after-window
	// included (for metrics).
	Observe func(id string, took time.Duration, err error)
	// Keep, if set, tells retention which older bundles to hold (not yet
	// uploaded): they are pruned only when max_size forces it (logged).
	Keep func(id string) bool
	// Peers, if set, reports the peers asked to freeze ev's incident,
	// for the manifest.
	Peers func(ev bundle.Event) []bundle.ManifestPeer
}

const (
	// settleMargin is how much longer than Options.Hold the snapshotter
	// waits after T+after, before asking for a flush, so that the
	// after-window's last frames have left the capture's OS buffer and
	// been written.
	settleMargin = 500 * time.Millisecond
	// freezerTimeout bounds the Freeze hooks run at T.
	freezerTimeout = 10 * time.Second
	// collectorTimeout bounds each collector while the bundle is written.
	collectorTimeout = 2 * time.Minute
	// maxInflight is one snapshot being written plus one queued.
	maxInflight = 2
)

// Snapshotter turns trigger events into bundles. Request freezes at once;
// Run (one owner goroutine) writes the bundles one at a time.
type Snapshotter struct {
	cfg     Config // as given to New; a reload's changes are in live (reload.go)
	ringDir string
	opts    Options
	log     *slog.Logger
	live    atomic.Pointer[settings] // set by Reconfigure

	queue chan *job

	unlock func() error // releases snapshots.dir's lock; nil until Open

	mu       sync.Mutex
	last     time.Time // when the last accepted request was frozen
	inflight int
	ids      map[string]bool
	closed   bool
}

// New returns a snapshotter for the ring in ringDir. It starts nothing.
func New(cfg Config, ringDir string, opts Options) *Snapshotter {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = sleepCtx
	}
	if opts.Hold <= 0 {
		opts.Hold = time.Second
	}
	if opts.Mono == nil {
		now, origin := opts.Now, opts.Now()
		opts.Mono = func() time.Duration { return now().Sub(origin) }
	}
	return &Snapshotter{
		cfg:     cfg,
		ringDir: ringDir,
		opts:    opts,
		log:     opts.Logger,
		queue:   make(chan *job, maxInflight),
		ids:     map[string]bool{},
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// job is one accepted request.
type job struct {
	id        string
	ev        bundle.Event
	set       settings // the configuration the job was accepted under
	from, to  time.Time
	freezeDir string
	result    chan Result
	// endedEarly is when shutdown cut the after-window short (zero if not).
	endedEarly time.Time

	// The window on the recorder's timeline (see clock.go), the ring's
	// clock record it was placed with, and the after-window's end on the
	// monotonic clock.
	clock             []ring.ClockRecord
	offset            time.Duration
	tlFrom, tlT, tlTo time.Time
	toMono            time.Duration

	pins       map[uint64]pin
	baseStats  map[string]ifaceStats // statistics at the end of the segment before the window
	baseSeg    string
	ring       ringInfo
	freeze     freezeInfo
	collectors []Collector // per-bundle collectors (Freezers replaced by what they froze)
	collErrs   map[string]string
}

// Request freezes the window before ev.Time (now, if zero) and queues the
// bundle. It refuses with a *RefusedError wrapping ErrCooldown or ErrBusy
// (not logged: the caller decides), or ErrClosed after Run has returned.
// Failures after acceptance (an unwritable snapshots.dir, for example) are
// logged and reported in the Result, sent once on the returned channel.
//
// Request returns after the freeze: the hard links (milliseconds) and the
// Freezer collectors' Freeze (the network state at T; bounded by 10s).
// It is safe to call from any goroutine.
func (s *Snapshotter) Request(ev bundle.Event) (<-chan Result, error) {
	now, mono := s.opts.Now(), s.opts.Mono()
	if ev.Time.IsZero() {
		ev.Time = now
	}
	set := s.current()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	if !s.last.IsZero() && now.Before(s.last.Add(set.cfg.Cooldown)) {
		until := s.last.Add(set.cfg.Cooldown)
		s.mu.Unlock()
		return nil, &RefusedError{Err: ErrCooldown, Until: until}
	}
	if s.inflight >= maxInflight {
		s.mu.Unlock()
		return nil, &RefusedError{Err: ErrBusy}
	}
	prevLast := s.last
	s.last = now
	s.inflight++
	id := s.newIDLocked(ev)
	s.mu.Unlock()

	before, after := set.cfg.Before, set.cfg.After
	if ev.Before > 0 {
		before = ev.Before
	}
	if ev.After > 0 {
		after = ev.After
	}
	j := &job{
		id:     id,
		ev:     ev,
		set:    set,
		from:   ev.Time.Add(-before),
		to:     ev.Time.Add(after),
		result: make(chan Result, 1),
	}
	j.toMono = mono + j.to.Sub(now)
	if err := s.freezeBefore(j); err != nil {
		err = fmt.Errorf("snapshot %s (trigger %s): %w", id, ev.Trigger, err)
		s.log.Error("snapshot failed at freeze; recording continues", "id", id, "err", err)
		if s.opts.Observe != nil {
			s.opts.Observe(id, 0, err)
		}
		s.mu.Lock()
		s.inflight--
		delete(s.ids, id)
		if s.last.Equal(now) {
			s.last = prevLast // a snapshot that never happened does not start a cooldown
		}
		s.mu.Unlock()
		j.result <- Result{ID: id, Err: err}
		return j.result, nil
	}
	s.runFreezers(j)
	if err := s.checkSpace(j); err != nil {
		// Said now, minutes before the bundle is due; checked again then.
		s.log.Warn("this snapshot will not fit unless space is freed before its after-window ends", "id", j.id, "err", err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		s.inflight--
		delete(s.ids, id)
		s.abandon(j, ErrClosed)
		return j.result, nil
	}
	s.queue <- j // never blocks: inflight <= cap(queue)
	return j.result, nil
}

// newIDLocked returns a bundle id not used by a published, staged or queued bundle.
func (s *Snapshotter) newIDLocked(ev bundle.Event) string {
	base := ev.Time.UTC().Format("20060102T150405Z") + "-" + sanitize(ev.Trigger)
	id := base
	for n := 2; ; n++ {
		if !s.ids[id] && !exists(filepath.Join(s.cfg.Dir, id)) && !exists(filepath.Join(s.cfg.Dir, id+bundle.ZipExt)) &&
			!exists(filepath.Join(s.cfg.Dir, ".freeze-"+id)) && !exists(filepath.Join(s.cfg.Dir, ".tmp-"+id)) &&
			!exists(filepath.Join(s.cfg.Dir, failedPrefix+id)) {
			break
		}
		id = fmt.Sprintf("%s-%d", base, n)
	}
	s.ids[id] = true
	return id
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// sanitize makes a trigger name safe for a file name.
func sanitize(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 40 {
			break
		}
	}
	out := strings.Trim(b.String(), ".")
	if out == "" {
		return "trigger"
	}
	return out
}

// abandon cleans up a job that will not be written and reports err.
func (s *Snapshotter) abandon(j *job, err error) {
	if j.freezeDir != "" {
		os.RemoveAll(j.freezeDir)
	}
	j.result <- Result{ID: j.id, Err: fmt.Errorf("snapshot %s (trigger %s) abandoned: %w", j.id, j.ev.Trigger, err)}
}

// Run writes queued bundles one at a time until ctx is done. Cancel ctx
// only once the ring has been closed (its last frames are on disk): a
// snapshot still waiting for its after-window is then written at once with
// the window cut short at shutdown, and so is one still queued, since what
// they froze is the minutes before a failure. Run returns nil.
func (s *Snapshotter) Run(ctx context.Context) error {
	if err := s.Open(); errors.Is(err, ring.ErrLocked) {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		return err
	} else if err != nil {
		// Each snapshot will fail, saying why; recording goes on.
		s.log.Error("snapshots.dir is not usable; snapshots will fail until it is", "err", err)
	}
	defer s.closeLock()
	s.finishZips(ctx)
	defer func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		for {
			select {
			case j := <-s.queue:
				s.finish(ctx, j)
				continue
			default:
			}
			return
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case j := <-s.queue:
			s.finish(ctx, j)
		}
	}
}

// finish processes j and hands its result over.
func (s *Snapshotter) finish(ctx context.Context, j *job) {
	start := time.Now()
	res := s.process(ctx, j)
	if s.opts.Observe != nil {
		s.opts.Observe(j.id, time.Since(start), res.Err)
	}
	s.mu.Lock()
	s.inflight--
	delete(s.ids, j.id)
	s.mu.Unlock()
	j.result <- res
}

// process waits for the after-window, then writes and publishes the bundle.
func (s *Snapshotter) process(ctx context.Context, j *job) Result {
	log := s.log.With("id", j.id, "trigger", j.ev.Trigger)
	defer func() {
		if j.freezeDir != "" { // not kept by failed
			os.RemoveAll(j.freezeDir)
		}
	}()
	if err := s.opts.Sleep(ctx, j.toMono-s.opts.Mono()); err != nil {
		// Shutting down: the ring is closed, what it recorded is on disk.
		// Keep the frozen minutes rather than lose them with the process.
		j.endedEarly = s.opts.Now()
		log.Warn("shutting down before the after-window ended: writing the bundle with what was recorded", "window_end", j.to, "now", j.endedEarly)
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
		defer cancel()
		ctx = wctx
	} else {
		if err := s.opts.Sleep(ctx, s.opts.Hold+settleMargin); err != nil {
			return s.failed(log, j, fmt.Errorf("waiting for the after-window's last frames: %w", err))
		}
		if s.opts.Flush != nil {
			if err := s.opts.Flush(); err != nil {
				log.Warn("asking the ring to flush failed; relying on its periodic flush", "err", err)
			}
		}
	}
	if err := s.freezeAfter(j); err != nil {
		return s.failed(log, j, err)
	}
	if err := s.checkPins(j); err != nil {
		return s.failed(log, j, err)
	}
	if err := s.checkSpace(j); err != nil {
		return s.failed(log, j, err)
	}
	dir, zip, err := s.writeBundle(ctx, log, j)
	if dir != "" {
		// Published, even if the zip failed: retention must see it.
		s.retain(log, j.id)
	}
	if err != nil {
		if dir != "" {
			log.Error("bundle written, but not its zip", "dir", dir, "err", err)
			return Result{ID: j.id, Dir: dir, Err: err}
		}
		return s.failed(log, j, err)
	}
	log.Info("snapshot written", "dir", dir, "zip", zip)
	return Result{ID: j.id, Dir: dir, Zip: zip}
}

// shutdownGrace bounds writing a bundle after shutdown began.
const shutdownGrace = time.Minute

func (s *Snapshotter) failed(log *slog.Logger, j *job, err error) Result {
	os.RemoveAll(filepath.Join(s.cfg.Dir, ".tmp-"+j.id))
	os.Remove(filepath.Join(s.cfg.Dir, ".tmp-"+j.id+bundle.ZipExt))
	if isDiskFull(err) && !errors.Is(err, ErrNoSpace) {
		err = fmt.Errorf("%w: %w", ErrNoSpace, err)
	}
	if kept := s.keepFailed(log, j); kept != "" {
		err = fmt.Errorf("%w; %s", err, kept)
	}
	err = fmt.Errorf("snapshot %s (trigger %s): %w", j.id, j.ev.Trigger, err)
	log.Error("snapshot failed; recording continues", "err", err)
	s.retain(log, "")
	return Result{ID: j.id, Err: err}
}

// copyFile copies src to dst (the fallback when hard links are impossible).
func copyFile(src, dst string) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fileMode)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return n, err
}
