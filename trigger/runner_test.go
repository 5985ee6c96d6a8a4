package trigger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/arpbox/arpbox/bundle"
)

// scripted is a Check whose results the test hands over one probe at a time.
// A probe with no result waits for its timeout.
type scripted struct {
	results chan error
	kicks   chan func() // Watch hands its kick function to the test
	watch   bool
}

func (s *scripted) Probe(ctx context.Context) error {
	select {
	case err := <-s.results:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

type watchingScripted struct{ *scripted }

func (w watchingScripted) Watch(ctx context.Context, kick func()) error {
	select {
	case w.kicks <- kick:
	case <-ctx.Done():
	}
	<-ctx.Done()
	return nil
}

// harness runs one trigger with a fake clock and a ticker the test drives.
type harness struct {
	t      *testing.T
	check  *scripted
	tick   chan time.Time
	mu     sync.Mutex
	now    time.Time
	events []bundle.Event
	r      *Runner
	done   chan struct{}
	cancel context.CancelFunc
}

var t0 = time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)

func newHarness(t *testing.T, spec Spec, watch bool) *harness {
	t.Helper()
	h := &harness{t: t, check: &scripted{results: make(chan error), kicks: make(chan func(), 1)}, tick: make(chan time.Time), now: t0, done: make(chan struct{})}
	var c Check = h.check
	if watch {
		c = watchingScripted{h.check}
	}
	r, err := NewRunner([]Spec{spec}, RunnerOptions{
		Logger:    slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:       func() time.Time { h.mu.Lock(); defer h.mu.Unlock(); return h.now },
		NewTicker: func(time.Duration) (<-chan time.Time, func()) { return h.tick, func() {} },
		NewCheck:  func(Spec, *slog.Logger) (Check, error) { return c, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	h.r = r
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() {
		defer close(h.done)
		if err := r.Run(ctx, func(e bundle.Event) { h.mu.Lock(); h.events = append(h.events, e); h.mu.Unlock() }); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-h.done:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return h
}

// step answers the probe in flight with err (a nil *error means: let it time
// out) and ticks, which returns only once the runner has recorded the result
// and waits for the next tick; then it advances the clock for the next probe.
func (h *harness) step(err *error, advance time.Duration) {
	h.t.Helper()
	if err != nil {
		select {
		case h.check.results <- *err:
		case <-time.After(5 * time.Second):
			h.t.Fatal("runner did not probe")
		}
	}
	select {
	case h.tick <- time.Time{}:
	case <-time.After(5 * time.Second):
		h.t.Fatal("runner did not wait for the next tick")
	}
	h.advance(advance)
}

func (h *harness) advance(d time.Duration) {
	h.mu.Lock()
	h.now = h.now.Add(d)
	h.mu.Unlock()
}

func (h *harness) Events() []bundle.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]bundle.Event(nil), h.events...)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

func TestRunnerDebounce(t *testing.T) {
	boom := errors.New("dial tcp 10.0.0.5:80: connect: connection refused")
	var ok error
	tests := []struct {
		name     string
		spec     Spec
		results  []*error // nil: the probe times out
		wantFire []int    // 1-based probe index at which each event fires
		wantLast CheckStatus
	}{
		{
			name:     "flapping fires once per outage",
			spec:     Spec{FailAfter: 3, RecoverAfter: 2},
			results:  []*error{&ok, &boom, &boom, &ok, &boom, &boom, &boom, &boom, &ok, &boom, &ok, &boom, &boom},
			wantFire: []int{7},
			wantLast: CheckStatus{State: StateDown, ConsecutiveFailures: 2, Fires: 1},
		},
		{
			name:     "recover re-arms, second outage second event",
			spec:     Spec{FailAfter: 2, RecoverAfter: 2},
			results:  []*error{&boom, &boom, &boom, &ok, &ok, &boom, &boom, &ok},
			wantFire: []int{2, 7},
			wantLast: CheckStatus{State: StateDown, ConsecutiveSuccesses: 1, Fires: 2},
		},
		{
			name:     "timeout counts as failure",
			spec:     Spec{FailAfter: 2, RecoverAfter: 1, Interval: 200 * time.Millisecond, Timeout: 20 * time.Millisecond},
			results:  []*error{&ok, nil, nil},
			wantFire: []int{3},
			wantLast: CheckStatus{State: StateDown, ConsecutiveFailures: 2, Fires: 1},
		},
		{
			name:     "cooldown suppresses an outage soon after the last event",
			spec:     Spec{FailAfter: 1, RecoverAfter: 1, Cooldown: 10 * time.Second},
			results:  []*error{&boom, &ok, &boom, &ok, &ok, &ok, &boom},
			wantFire: []int{1, 7}, // probe 3 at t0+4s is in cooldown; probe 7 at t0+12s is not
			wantLast: CheckStatus{State: StateDown, ConsecutiveFailures: 1, Fires: 2, Suppressed: 1},
		},
		{
			name:     "fail_after 1 fires on the first failure",
			spec:     Spec{FailAfter: 1, RecoverAfter: 3},
			results:  []*error{&ok, &boom, &ok, &ok, &boom, &ok, &ok, &ok},
			wantFire: []int{2},
			wantLast: CheckStatus{State: StateUp, ConsecutiveSuccesses: 3, Fires: 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := tc.spec
			spec.Name, spec.Check, spec.Target = "web1", CheckTCP, "10.0.0.5:80"
			h := newHarness(t, spec, false)
			var want []bundle.Event
			fire := map[int]bool{}
			for _, n := range tc.wantFire {
				fire[n] = true
			}
			for i, res := range tc.results {
				h.step(res, 2*time.Second)
				if fire[i+1] {
					want = append(want, bundle.Event{Trigger: "web1", Check: CheckTCP, Target: "10.0.0.5:80", Time: t0.Add(time.Duration(i) * 2 * time.Second)})
				}
				got := h.Events()
				if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(bundle.Event{}, "Reason")); diff != "" {
					t.Fatalf("after probe %d: events (-want +got):\n%s", i+1, diff)
				}
			}
			st := h.r.Status()
			if len(st) != 1 {
				t.Fatalf("Status: %d entries", len(st))
			}
			if diff := cmp.Diff(tc.wantLast, st[0], cmpopts.IgnoreFields(CheckStatus{}, "Name", "Check", "Target", "Probes", "LastError", "LastErrorTime", "LastProbe", "LastChange")); diff != "" {
				t.Errorf("final status (-want +got):\n%s", diff)
			}
			if st[0].Probes != uint64(len(tc.results)) {
				t.Errorf("Probes = %d, want %d", st[0].Probes, len(tc.results))
			}
		})
	}
}

func TestRunnerReason(t *testing.T) {
	h := newHarness(t, Spec{Name: "web1", Check: CheckTCP, Target: "10.0.0.5:80", FailAfter: 3, Interval: 100 * time.Millisecond, Timeout: 10 * time.Millisecond}, false)
	refused := errors.New("dial tcp 10.0.0.5:80: connect: connection refused")
	h.step(&refused, time.Second)
	h.step(&refused, time.Second)
	h.step(nil, time.Second)
	want := []bundle.Event{{
		Trigger: "web1", Check: "tcp", Target: "10.0.0.5:80",
		Reason: "3 consecutive failures: timeout after 10ms: context deadline exceeded",
		Time:   t0.Add(2 * time.Second),
	}}
	if diff := cmp.Diff(want, h.Events()); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	st := h.r.Status()[0]
	wantSt := CheckStatus{
		Name: "web1", Check: "tcp", Target: "10.0.0.5:80", State: StateDown,
		ConsecutiveFailures: 3, Probes: 3, Fires: 1,
		LastError:     "timeout after 10ms: context deadline exceeded",
		LastErrorTime: t0.Add(2 * time.Second), LastProbe: t0.Add(2 * time.Second), LastChange: t0.Add(2 * time.Second),
	}
	if diff := cmp.Diff(wantSt, st); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
}

// A Watcher's kick makes the runner probe without waiting for a tick, but
// not twice within interval/4.
func TestRunnerWatcherKick(t *testing.T) {
	h := newHarness(t, Spec{Name: "gw", Check: CheckTCP, Target: "10.0.0.1:22", FailAfter: 1}, true)
	var kick func()
	select {
	case kick = <-h.check.kicks:
	case <-time.After(5 * time.Second):
		t.Fatal("Watch not started")
	}
	h.check.results <- nil // first probe, at t0: up
	h.advance(time.Second)
	kick()
	select {
	case h.check.results <- errors.New("entry 10.0.0.1 FAILED"):
	case <-time.After(5 * time.Second):
		t.Fatal("kick did not cause a probe")
	}
	ok := error(nil)
	h.step(nil, 0) // waits until the kicked probe is recorded; the tick starts probe 3
	want := []bundle.Event{{Trigger: "gw", Check: "tcp", Target: "10.0.0.1:22", Reason: "1 consecutive failure: entry 10.0.0.1 FAILED", Time: t0.Add(time.Second)}}
	if diff := cmp.Diff(want, h.Events()); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}
	h.check.results <- ok // probe 3 done at t0+1s
	kick()                // too soon after probe 3: ignored
	select {
	case h.check.results <- nil:
		t.Fatal("kick within interval/4 of the last probe caused a probe")
	case <-time.After(200 * time.Millisecond):
	}
}

func TestNewRunnerErrors(t *testing.T) {
	tests := []struct {
		name  string
		specs []Spec
		want  string
	}{
		{"bad spec", []Spec{{Name: "a", Check: "ping", Target: "x"}}, `trigger 1 (a): check: unknown check "ping" (want one of icmp, tcp, http, arp, neighbor, haproxy, exec, arp-unanswered, arp-conflict)`},
		{"duplicate", []Spec{{Name: "a", Check: "tcp", Target: "x:1"}, {Name: "a", Check: "tcp", Target: "y:1"}}, `trigger 2: name: duplicate trigger name "a"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewRunner(tc.specs, RunnerOptions{})
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("error = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRunnerStopsOnCancel(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("skipping on Windows: the probe runs POSIX sleep")
	}
	r, err := NewRunner([]Spec{{Name: "slow", Check: CheckExec, Command: []string{"sleep", "5"}, Interval: 10 * time.Second, Timeout: 9 * time.Second}}, RunnerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx, func(bundle.Event) { t.Error("unexpected event") }) }()
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Run did not return promptly after cancel")
	}
	if st := r.Status()[0]; st.Probes != 0 || st.State != StateUnknown {
		t.Errorf("a probe cut short by shutdown was counted: %+v", st)
	}
}

type unsupportedCheck struct{ probes int }

func (u *unsupportedCheck) Probe(context.Context) error {
	u.probes++
	return fmt.Errorf("arp check: %w", errors.ErrUnsupported)
}

// A check the platform cannot run is disabled; the others carry on.
func TestRunnerDisablesUnsupported(t *testing.T) {
	uc := &unsupportedCheck{}
	ok := make(chan struct{}, 100)
	r, err := NewRunner([]Spec{
		{Name: "arp", Check: CheckARP, Target: "10.0.0.1", Interval: 10 * time.Millisecond, Timeout: 5 * time.Millisecond},
		{Name: "tcp", Check: CheckTCP, Target: "10.0.0.1:1", Interval: 10 * time.Millisecond, Timeout: 5 * time.Millisecond},
	}, RunnerOptions{NewCheck: func(s Spec, _ *slog.Logger) (Check, error) {
		if s.Check == CheckARP {
			return uc, nil
		}
		return checkFunc(func(context.Context) error { ok <- struct{}{}; return nil }), nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, func(e bundle.Event) { t.Errorf("unexpected event %+v", e) }) }()
	for range 5 {
		<-ok
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st := r.Status()
	if st[0].State != StateDisabled || uc.probes != 1 || st[1].State != StateUp {
		t.Errorf("states %s (%d probes) / %s, want disabled after 1 probe / up", st[0].State, uc.probes, st[1].State)
	}
}

type checkFunc func(context.Context) error

func (f checkFunc) Probe(ctx context.Context) error { return f(ctx) }

// Status is safe while Run probes (run with -race).
func TestRunnerStatusConcurrent(t *testing.T) {
	r, err := NewRunner([]Spec{{Name: "a", Check: CheckTCP, Target: "x:1", Interval: time.Millisecond * 4, Timeout: time.Millisecond * 2, FailAfter: 1, RecoverAfter: 1}},
		RunnerOptions{NewCheck: func(Spec, *slog.Logger) (Check, error) {
			n := 0
			return checkFunc(func(context.Context) error {
				n++
				if n%2 == 0 {
					return errors.New("flap")
				}
				return nil
			}), nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	var fires int
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx, func(bundle.Event) { fires++ }) }()
	for ctx.Err() == nil {
		_ = r.Status()
	}
	<-done
	if st := r.Status()[0]; st.Fires != fires || fires == 0 {
		t.Errorf("Status().Fires = %d, emitted %d", st.Fires, fires)
	}
}
