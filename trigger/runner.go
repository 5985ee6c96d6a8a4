package trigger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/arpbox/arpbox/bundle"
)

// State is a check's health as the Runner sees it.
type State string

const (
	StateUnknown State = "unknown" // no probe finished yet
	StateUp      State = "up"      // healthy (armed: the next outage fires)
	StateDown    State = "down"    // fail_after failures seen; fired (or suppressed) once
	// StateDisabled: the check cannot run on this platform (a probe returned
	// an error wrapping errors.ErrUnsupported); it is not probed again and never fires.
	StateDisabled State = "disabled"
)

// CheckStatus is a snapshot of one trigger's state, for the control API.
type CheckStatus struct {
	Name                 string    `json:"name"`
	Check                string    `json:"check"`
	Target               string    `json:"target"`
	State                State     `json:"state"`
	ConsecutiveFailures  int       `json:"consecutive_failures"`
	ConsecutiveSuccesses int       `json:"consecutive_successes"`
	Probes               uint64    `json:"probes"`
	LastError            string    `json:"last_error,omitempty"` // most recent failure, kept after recovery
	LastErrorTime        time.Time `json:"last_error_time,omitzero"`
	LastProbe            time.Time `json:"last_probe,omitzero"`
	LastChange           time.Time `json:"last_change,omitzero"` // last State change
	Fires                int       `json:"fires"`                // events emitted
	Suppressed           int       `json:"suppressed"`           // outages not fired because of cooldown
}

// RunnerOptions are the Runner's dependencies; zero values mean the real ones.
type RunnerOptions struct {
	Logger *slog.Logger     // nil: discard
	Now    func() time.Time // nil: time.Now
	// NewTicker returns a channel that delivers every d and a stop function.
	// nil: time.NewTicker.
	NewTicker func(d time.Duration) (<-chan time.Time, func())
	// NewCheck builds the check for a spec. nil: NewCheck.
	NewCheck func(Spec, *slog.Logger) (Check, error)
	// Detector is fed every recorded frame by the recorder; the stream
	// checks (arp-unanswered, arp-conflict) read it. nil: those checks are
	// refused.
	Detector Detector
	// Observe, if set, is told each probe's result and how long it took
	// (for metrics); called from the probing goroutines, concurrently.
	Observe func(trigger string, took time.Duration, err error)
}

// Runner runs every health check on its interval and turns failures into
// events: fail_after consecutive failures (a probe that times out is a
// failure) declare the check down and emit one Event; the check then stays
// down, emitting nothing, until recover_after consecutive successes bring it
// up and re-arm it. So a flapping target fires once per outage. A check that
// starts out failing fires too (the first outage seen). When an outage starts
// within cooldown of the trigger's previous event it is logged and counted in
// Suppressed but does not fire. Checks that implement Watcher also probe at
// once when their watch reports a change (at most once per interval/4). A
// check whose probe returns an error wrapping errors.ErrUnsupported is disabled (logged, State
// "disabled") and the others carry on.
type Runner struct {
	log       *slog.Logger
	now       func() time.Time
	newTicker func(time.Duration) (<-chan time.Time, func())
	triggers  []*tracked
	emitMu    sync.Mutex
	observe   func(string, time.Duration, error)
}

type tracked struct {
	spec  Spec
	check Check
	log   *slog.Logger

	mu       sync.Mutex
	st       CheckStatus
	lastFire time.Time
}

// NewRunner validates specs (after WithDefaults) and builds their checks. It
// starts nothing.
func NewRunner(specs []Spec, opts RunnerOptions) (*Runner, error) {
	r := &Runner{log: opts.Logger, now: opts.Now, newTicker: opts.NewTicker, observe: opts.Observe}
	if r.log == nil {
		r.log = discard()
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.newTicker == nil {
		r.newTicker = func(d time.Duration) (<-chan time.Time, func()) {
			t := time.NewTicker(d)
			return t.C, t.Stop
		}
	}
	newCheck := opts.NewCheck
	if newCheck == nil {
		newCheck = NewCheck
	}
	seen := map[string]bool{}
	for i, s := range specs {
		s = s.WithDefaults()
		if err := s.Validate(); err != nil {
			return nil, fmt.Errorf("trigger %d (%s): %w", i+1, s.Name, err)
		}
		if seen[s.Name] {
			return nil, fmt.Errorf("trigger %d: %w", i+1, fieldErr("name", "duplicate trigger name %q", s.Name))
		}
		seen[s.Name] = true
		log := r.log.With("trigger", s.Name, "check", s.Check, "target", s.DisplayTarget())
		var c Check
		var err error
		if isStream(s.Check) {
			c, err = newStreamCheck(s, opts.Detector, r.now)
			if err != nil {
				err = fmt.Errorf("trigger %s: %w", s.Name, err)
			}
		} else {
			c, err = newCheck(s, log)
		}
		if err != nil {
			return nil, err
		}
		r.triggers = append(r.triggers, &tracked{
			spec: s, check: c, log: log,
			st: CheckStatus{Name: s.Name, Check: s.Check, Target: s.DisplayTarget(), State: StateUnknown},
		})
	}
	return r, nil
}

// Run probes every check, one goroutine each (plus one per Watcher), until
// ctx is cancelled, then waits for them all and returns nil. Call it once.
// emit is called for each event, never concurrently; it should return
// quickly, since other checks wait while it runs.
func (r *Runner) Run(ctx context.Context, emit func(bundle.Event)) error {
	var wg sync.WaitGroup
	for _, t := range r.triggers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.loop(ctx, t, emit, &wg)
		}()
	}
	<-ctx.Done() // also with no checks at all: Run lasts as long as ctx
	wg.Wait()
	return nil
}

// Status returns every trigger's state, in config order. Safe to call from
// any goroutine, before, during and after Run.
func (r *Runner) Status() []CheckStatus {
	out := make([]CheckStatus, len(r.triggers))
	for i, t := range r.triggers {
		t.mu.Lock()
		out[i] = t.st
		t.mu.Unlock()
	}
	return out
}

func (r *Runner) loop(ctx context.Context, t *tracked, emit func(bundle.Event), wg *sync.WaitGroup) {
	tick, stop := r.newTicker(t.spec.Interval)
	defer stop()
	kick := make(chan struct{}, 1)
	if w, ok := t.check.(Watcher); ok {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := w.Watch(ctx, func() {
				select {
				case kick <- struct{}{}:
				default:
				}
			})
			if err != nil && ctx.Err() == nil {
				t.log.Warn("change watch stopped; polling only", "err", err)
			}
		}()
	}
	var last time.Time
	for {
		last = r.now()
		if !r.probe(ctx, t, emit) {
			return
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick:
			case <-kick:
				if r.now().Sub(last) < t.spec.Interval/4 {
					continue
				}
				t.log.Debug("probing now: change reported")
			}
			break
		}
	}
}

// probe runs one probe and records it; false means: stop probing.
func (r *Runner) probe(ctx context.Context, t *tracked, emit func(bundle.Event)) bool {
	pctx, cancel := context.WithTimeout(ctx, t.spec.Timeout)
	start := r.now()
	err := t.check.Probe(pctx)
	took := r.now().Sub(start)
	timedOut := pctx.Err() != nil
	cancel()
	if ctx.Err() != nil {
		return false // shutting down: the result means nothing
	}
	if errors.Is(err, errors.ErrUnsupported) {
		t.mu.Lock()
		t.setState(StateDisabled, r.now())
		t.st.LastError = err.Error()
		t.mu.Unlock()
		t.log.Error("check disabled: not supported on this platform", "err", err)
		return false
	}
	if timedOut {
		if err == nil {
			err = errors.New("probe returned after the timeout")
		}
		err = fmt.Errorf("timeout after %v: %w", t.spec.Timeout, err)
	}
	if r.observe != nil {
		r.observe(t.spec.Name, took, err)
	}
	if ev := t.observe(err, r.now()); ev != nil {
		r.emitMu.Lock()
		emit(*ev)
		r.emitMu.Unlock()
	}
	return true
}

// observe records one probe result and returns the event to emit, if any.
func (t *tracked) observe(err error, now time.Time) *bundle.Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := &t.st
	st.Probes++
	st.LastProbe = now
	if err == nil {
		st.ConsecutiveSuccesses++
		st.ConsecutiveFailures = 0
		switch {
		case st.State == StateUnknown:
			t.setState(StateUp, now)
			t.log.Info("check up")
		case st.State == StateDown && st.ConsecutiveSuccesses >= t.spec.RecoverAfter:
			t.setState(StateUp, now)
			t.log.Info("check recovered; trigger re-armed", "successes", st.ConsecutiveSuccesses)
		}
		return nil
	}
	st.ConsecutiveFailures++
	st.ConsecutiveSuccesses = 0
	st.LastError = SanitizeCheckReason(err.Error())
	st.LastErrorTime = now
	if st.State == StateDown {
		return nil
	}
	if st.ConsecutiveFailures < t.spec.FailAfter {
		t.log.Debug("probe failed", "failures", st.ConsecutiveFailures, "fail_after", t.spec.FailAfter, "err", err)
		return nil
	}
	t.setState(StateDown, now)
	noun := "failures"
	if st.ConsecutiveFailures == 1 {
		noun = "failure"
	}
	reason := SanitizeCheckReason(fmt.Sprintf("%d consecutive %s: %v", st.ConsecutiveFailures, noun, err))
	if t.spec.Cooldown > 0 && !t.lastFire.IsZero() && now.Sub(t.lastFire) < t.spec.Cooldown {
		st.Suppressed++
		t.log.Warn("check down; event suppressed by cooldown", "reason", reason,
			"last_event", t.lastFire, "cooldown", t.spec.Cooldown)
		return nil
	}
	st.Fires++
	t.lastFire = now
	t.log.Warn("check down; firing", "reason", reason)
	return &bundle.Event{
		Trigger: t.spec.Name,
		Check:   t.spec.Check,
		Target:  t.spec.DisplayTarget(),
		Reason:  reason,
		Time:    now,
	}
}

func (t *tracked) setState(s State, now time.Time) {
	t.st.State = s
	t.st.LastChange = now
}
