package recorder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/arpbox/arpbox/analyze"
	"github.com/arpbox/arpbox/capture"
	"github.com/arpbox/arpbox/configs"
	"github.com/arpbox/arpbox/ring"
	"github.com/arpbox/arpbox/trigger"
)

// Live reload. The configuration file is watched (its directory, since
// editors replace files rather than write them) and SIGHUP asks for the
// same. A reload parses and checks the file; when it is invalid the
// recorder keeps running on the configuration in force and logs the
// file:line error. When it is valid, what can change live is applied
// without a capture gap:
//
//   - triggers: the trigger runner is restarted with the new set (only
//     when the triggers changed; their states start over);
//   - ring limits (segment_size, segment_duration, max_size,
//     max_segments, min_free): applied to the open ring, retention at once;
//   - snapshots (before, after, cooldown, max_count, max_size): for the
//     bundles requested from now on; a bundle in flight keeps its own;
//   - capture.interfaces: an added interface starts capturing, a removed
//     one stops, the others go on untouched; the ring's current segment is
//     sealed and the next one lists the new interfaces;
//   - capture filter, snaplen: attached to the open captures (no gap);
//     promiscuous, buffer_size: every capture is reopened with them (the
//     frames the kernel was still collecting when it closed are lost:
//     up to about a second), and the segment rotates as for interfaces.
//
// What cannot change while running (data_dir, ring.dir, snapshots.dir,
// the control section, log) keeps its old value and is logged as needing a
// restart. Status and the metrics show the digest of the configuration in
// force and the last reload's outcome.

// reloadDebounce is how long the watcher waits after the last change in
// the configuration's directory: an editor's save is several events.
const reloadDebounce = 250 * time.Millisecond

// routeWait bounds waiting for a default route during a reload.
const routeWait = 10 * time.Second

// ReloadStatus is the outcome of the last configuration reload.
type ReloadStatus struct {
	Time time.Time `json:"time"`
	// Trigger is what asked for it: "file", "SIGHUP" or "api".
	Trigger string `json:"trigger"`
	OK      bool   `json:"ok"`
	// Error is why the file was refused (file:line: field: problem); the
	// configuration in force did not change.
	Error string `json:"error,omitempty"`
	// Digest is the SHA-256 of the file read (empty if it could not be read).
	Digest string `json:"digest,omitempty"`
	// Applied lists what changed ("triggers", "ring", "snapshots",
	// "interfaces", "capture"); empty when the file did not change anything.
	Applied []string `json:"applied,omitempty"`
	// NeedsRestart lists the changed settings that keep their old value
	// until arpbox restarts.
	NeedsRestart []string `json:"needs_restart,omitempty"`
}

// reloader is the recorder's reload state.
type reloader struct {
	mu sync.Mutex // one reload at a time

	cur      atomic.Pointer[configs.Config]   // the configuration in force
	runner   atomic.Pointer[trigger.Runner]   // the trigger runner in force
	detector atomic.Pointer[analyze.Detector] // fed every frame once a stream check exists
	restart  chan struct{}                    // runTriggers picks up a new runner

	ok, failed atomic.Uint64
	okAt       atomic.Int64 // unix ns of the last good reload, or of the start
	last       atomic.Pointer[ReloadStatus]
}

func (rl *reloader) init(cfg *configs.Config) {
	rl.cur.Store(cfg)
	rl.restart = make(chan struct{}, 1)
	rl.okAt.Store(time.Now().UnixNano())
}

// config returns the configuration in force.
func (r *Recorder) config() *configs.Config { return r.reload.cur.Load() }

// runnerNow returns the trigger runner in force; nil when replaying.
func (r *Recorder) runnerNow() *trigger.Runner { return r.reload.runner.Load() }

// newRunner builds a trigger runner for cfg's triggers (making the stream
// checks' detector if they need it and there is none yet).
func (r *Recorder) newRunner(cfg *configs.Config) (*trigger.Runner, error) {
	ropts := trigger.RunnerOptions{Logger: r.log.With("part", "trigger"), Observe: r.metrics.observeProbe}
	for _, t := range cfg.Triggers {
		if t.Check == trigger.CheckARPUnanswered || t.Check == trigger.CheckARPConflict {
			d := r.reload.detector.Load()
			if d == nil {
				d = analyze.NewDetector(analyze.DetectorConfig{})
				r.reload.detector.Store(d)
			}
			ropts.Detector = d // never a nil *analyze.Detector in the interface
			break
		}
	}
	return trigger.NewRunner(cfg.Triggers, ropts)
}

// runTriggers runs the trigger runner in force, and the next one when a
// reload replaces it, until ctx is done.
func (r *Recorder) runTriggers(ctx context.Context) error {
	for {
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		runner := r.runnerNow()
		go func() { done <- runner.Run(rctx, r.onEvent) }()
		select {
		case <-ctx.Done():
			cancel()
			return <-done
		case <-r.reload.restart:
			cancel()
			if err := <-done; err != nil {
				return err
			}
		}
	}
}

// watchConfig reloads the configuration when its file changes or SIGHUP
// arrives, until ctx is done. Without a file (the embedded default) only
// SIGHUP is listened to (and finds nothing to change).
func (r *Recorder) watchConfig(ctx context.Context) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP) // never delivered on Windows
	defer signal.Stop(hup)

	var events <-chan fsnotify.Event
	var errs <-chan error
	if src := r.cfg.Source; src != configs.DefaultName {
		w, err := fsnotify.NewWatcher()
		if err != nil {
			return fmt.Errorf("watch %s: %w", src, err)
		}
		defer w.Close()
		if err := w.Add(filepath.Dir(src)); err != nil {
			return fmt.Errorf("watch the directory of %s: %w", src, err)
		}
		events, errs = w.Events, w.Errors
	}
	var stamp fileStamp
	stamp.update(r.cfg.Source)
	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	defer debounce.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-hup:
			debounce.Stop()
			_ = r.Reload(ctx, "SIGHUP")
		case ev, ok := <-events:
			if !ok {
				return errors.New("config watcher closed")
			}
			// Any change in the directory may be the file: a replaced
			// file, or a symlink swapped (a ConfigMap). An unchanged
			// digest makes the reload a no-op.
			if ev.Op != fsnotify.Chmod {
				debounce.Reset(reloadDebounce)
			}
		case err, ok := <-errs:
			if !ok {
				return errors.New("config watcher closed")
			}
			return fmt.Errorf("watching %s: %w", r.cfg.Source, err)
		case <-debounce.C:
			// Another file in the directory changed (a log, an editor's
			// swap file): one stat, no read and parse of the configuration.
			if stamp.update(r.cfg.Source) && r.fileChanged() {
				_ = r.Reload(ctx, "file")
			}
		}
	}
}

// fileStamp is what a stat says of the configuration file: which file
// (the path's target, symbolic links followed), its size, mode and
// modification time.
type fileStamp struct{ fi os.FileInfo }

// update stats path and reports whether the stamp differs from the one
// recorded before (or either stat failed). A file rewritten in place with
// the same size within the file system's timestamp granularity looks
// unchanged; SIGHUP reloads it.
func (s *fileStamp) update(path string) bool {
	prev := s.fi
	s.fi, _ = os.Stat(path) // nil on error
	if prev == nil || s.fi == nil {
		return true
	}
	return !os.SameFile(prev, s.fi) || prev.Size() != s.fi.Size() || prev.Mode() != s.fi.Mode() || !prev.ModTime().Equal(s.fi.ModTime())
}

// fileChanged reports whether the configuration file's digest differs from
// the one last read (in force or refused).
func (r *Recorder) fileChanged() bool {
	c, err := configs.Load(r.cfg.Source)
	if err != nil {
		// Unreadable or invalid: it changed unless the last reload
		// refused the same bytes.
		b, rerr := os.ReadFile(r.cfg.Source)
		last := r.reload.last.Load()
		if rerr != nil || last == nil || last.OK {
			return true
		}
		return digestOf(b) != last.Digest
	}
	return c.Digest != r.config().Digest
}

// Reload reads the configuration file again and applies what changed (see
// the package's reload rules above); cause names what asked ("file",
// "SIGHUP", "api"). It returns the reason an invalid file was refused (the
// configuration in force then stays), logged too. Safe from any goroutine
// once Run is recording; reloads run one at a time.
func (r *Recorder) Reload(ctx context.Context, cause string) error {
	r.reload.mu.Lock()
	defer r.reload.mu.Unlock()
	st := ReloadStatus{Time: time.Now(), Trigger: cause}
	err := r.reloadLocked(ctx, &st)
	st.OK = err == nil
	if err != nil {
		st.Error = err.Error()
		r.reload.failed.Add(1)
		r.log.Error("config reload failed: keeping the configuration in force", "trigger", cause, "err", err)
	} else {
		r.reload.ok.Add(1)
		r.reload.okAt.Store(st.Time.UnixNano())
		r.log.Info("config reloaded", "trigger", cause, "digest", st.Digest, "applied", st.Applied, "needs_restart", st.NeedsRestart)
	}
	r.reload.last.Store(&st)
	return err
}

func (r *Recorder) reloadLocked(ctx context.Context, st *ReloadStatus) error {
	if r.opts.Replay != "" || !r.recording.Load() || r.stopped.Load() {
		return errors.New("not recording")
	}
	if r.cfg.Source == configs.DefaultName {
		st.Digest = r.config().Digest
		return nil // the embedded default cannot change
	}
	if b, err := os.ReadFile(r.cfg.Source); err == nil {
		st.Digest = digestOf(b)
	}
	next, err := configs.Load(r.cfg.Source)
	if err != nil {
		return err // a *configs.Error says file:line: field
	}
	old := r.config()
	if next.NeedsDefaultRoute() {
		rctx, cancel := context.WithTimeout(ctx, routeWait)
		err := resolveDefaultRoute(rctx, next, r.log)
		cancel()
		if err != nil {
			return err
		}
	}
	st.NeedsRestart = keepFixed(old, next)
	for _, k := range st.NeedsRestart {
		r.log.Warn("config reload: this setting changed but needs a restart; keeping the running value", "setting", k)
	}

	// Everything that can fail is checked before anything is applied.
	var runner *trigger.Runner
	if !reflect.DeepEqual(old.Triggers, next.Triggers) {
		if runner, err = r.newRunner(next); err != nil {
			return fmt.Errorf("%s: triggers: %w", next.Source, err)
		}
	}
	if err := next.Ring.Validate(); err != nil {
		return fmt.Errorf("%s: ring: %w", next.Source, err)
	}
	if err := next.Snapshots.Validate(); err != nil {
		return fmt.Errorf("%s: snapshots: %w", next.Source, err)
	}

	if next.Ring != old.Ring {
		r.ring.mu.Lock()
		err := r.ring.w.SetLimits(next.Ring)
		sooner := r.ring.soonerLocked(time.Now())
		r.ring.mu.Unlock()
		if sooner {
			r.ring.pokeTend()
		}
		if err != nil {
			return err
		}
		st.Applied = append(st.Applied, "ring")
	}
	captureChanged := !sameCapture(old.Capture, next.Capture)
	if captureChanged || !slices.Equal(old.Capture.Interfaces, next.Capture.Interfaces) {
		what, err := r.applyInterfaces(ctx, old, next, captureChanged)
		if err != nil {
			return err
		}
		st.Applied = append(st.Applied, what)
	}
	if next.Snapshots != old.Snapshots || !slices.Equal(old.Capture.Interfaces, next.Capture.Interfaces) || next.Digest != old.Digest {
		if err := r.snaps.Reconfigure(next.Snapshots, next.Capture.Interfaces, next.Digest); err != nil {
			return err
		}
		if next.Snapshots != old.Snapshots {
			st.Applied = append(st.Applied, "snapshots")
		}
	}
	if runner != nil {
		r.reload.runner.Store(runner)
		select {
		case r.reload.restart <- struct{}{}:
		default: // a restart is pending already; it runs the runner stored last
		}
		st.Applied = append(st.Applied, "triggers")
	}
	r.reload.cur.Store(next)
	return nil
}

// digestOf is a configuration file's digest, as configs computes it.
func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// keepFixed gives next the old values of what cannot change while running
// and returns the YAML keys of those that differed.
func keepFixed(old, next *configs.Config) []string {
	var keys []string
	fix := func(key string, differ bool, keep func()) {
		if differ {
			keys = append(keys, key)
			keep()
		}
	}
	fix("data_dir", old.DataDir != next.DataDir, func() { next.DataDir = old.DataDir })
	fix("ring.dir", filepath.Clean(old.Ring.Dir) != filepath.Clean(next.Ring.Dir), func() { next.Ring.Dir = old.Ring.Dir })
	fix("snapshots.dir", filepath.Clean(old.Snapshots.Dir) != filepath.Clean(next.Snapshots.Dir), func() { next.Snapshots.Dir = old.Snapshots.Dir })
	fix("control", old.Control != next.Control, func() { next.Control = old.Control })
	fix("log", old.Log != next.Log, func() { next.Log = old.Log })
	return keys
}

// sameCapture reports whether the capture settings other than the
// interface list are equal.
func sameCapture(a, b configs.Capture) bool {
	return a.Filter.Text == b.Filter.Text && a.SnapLen == b.SnapLen &&
		a.Promiscuous == b.Promiscuous && a.BufferBytes == b.BufferBytes
}

// newLiveSlot returns a slot capturing name with cfg's capture settings.
func (r *Recorder) newLiveSlot(cfg *configs.Config, name string) *slot {
	id := r.caps.nextSlotID()
	live := capture.NewLive(liveConfig(cfg, name, id), r.log)
	return r.caps.newSlot(name, live, live, ringInterface(cfg, name))
}

// liveConfig is the capture configuration of interface name as slot id.
func liveConfig(cfg *configs.Config, name string, id int) capture.LiveConfig {
	return capture.LiveConfig{
		Iface:       name,
		Index:       id,
		Filter:      cfg.Capture.Filter,
		SnapLen:     cfg.Capture.SnapLen,
		Promiscuous: cfg.Capture.Promiscuous,
		BufferBytes: cfg.Capture.BufferBytes,
	}
}

// ringInterface is how the ring describes interface name.
func ringInterface(cfg *configs.Config, name string) ring.Interface {
	return ring.Interface{Name: name, Filter: cfg.Capture.Filter.Text, OS: runtime.GOOS, SnapLen: cfg.Capture.SnapLen}
}

// applyInterfaces makes the captures match next: interfaces no longer
// listed stop (after delivering their last frames), new ones start, and
// with settings (the capture settings changed) the others get them
// (capture.Live.SetCapture: a filter or snaplen is swapped on the open
// capture, promiscuous mode or buffer size reopen it). The ring seals its
// segment and starts one with the new interface list in between, under
// its owner's lock. It returns what it applied.
func (r *Recorder) applyInterfaces(ctx context.Context, old, next *configs.Config, settings bool) (string, error) {
	cur := map[string]*slot{}
	for _, s := range r.caps.list() {
		cur[s.name] = s
	}
	var set []*slot
	var added, removed []string
	for _, name := range next.Capture.Interfaces {
		if s, ok := cur[name]; ok {
			if settings && s.live != nil {
				if err := s.live.SetCapture(liveConfig(next, name, s.id)); err != nil {
					return "", err
				}
				s.iface = ringInterface(next, name)
			}
			set = append(set, s)
			delete(cur, name)
			continue
		}
		set = append(set, r.newLiveSlot(next, name))
		added = append(added, name)
	}
	for name := range cur {
		if !slices.Contains(next.Capture.Interfaces, name) {
			removed = append(removed, name)
		}
	}
	slices.Sort(removed)
	ifaces := make([]ring.Interface, len(set))
	for i, s := range set {
		ifaces[i] = s.iface
	}
	err := r.caps.replace(ctx, set, func(nextID int) error {
		r.ring.mu.Lock()
		defer r.ring.mu.Unlock()
		if err := r.ring.w.SetInterfaces(ifaces); err != nil {
			return err
		}
		r.ring.ifaces.Store(r.ring.ifaces.Load().next(set, nextID))
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("capture interfaces: %w", err)
	}
	if settings {
		r.log.Info("config reload: capture settings changed",
			"filter", next.Capture.Filter.Text, "snaplen", next.Capture.SnapLen, "promiscuous", next.Capture.Promiscuous,
			"buffer_size", next.Capture.BufferBytes, "interfaces", next.Capture.Interfaces, "added", added, "removed", removed)
		return "capture", nil
	}
	r.log.Info("config reload: capture interfaces changed", "added", added, "removed", removed, "interfaces", next.Capture.Interfaces)
	return "interfaces", nil
}
