package snapshot

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/arpbox/arpbox/bundle"
	"github.com/arpbox/arpbox/ring"
)

// stepClock is an injected pair of clocks: the wall clock, which a test
// can step, and a monotonic one, which only advances.
type stepClock struct {
	mu   sync.Mutex
	wall time.Time
	mono time.Duration
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.wall
}

func (c *stepClock) Mono() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mono
}

func (c *stepClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.wall, c.mono = c.wall.Add(d), c.mono+d
	c.mu.Unlock()
}

func (c *stepClock) Step(d time.Duration) {
	c.mu.Lock()
	c.wall = c.wall.Add(d)
	c.mu.Unlock()
}

// TestClockStep steps the wall clock, through the ring and the
// snapshotter (injected clocks; the machine's clock is not touched), back
// 5 minutes and forward 1 hour while ARP frames arrive steadily on two
// interfaces, then takes a snapshot. Before the fix the window was chosen
// by wall clock and the merge stopped reading a segment whose times went
// back: most of the window was missing (or, stepped forward, the
// after-window was cut short), the manifest blamed retention. Now every
// frame recorded within [T-before, T+after] of the recorder's own
// (monotonic) timeline is in the bundle, no other, and the manifest names
// the step.
func TestClockStep(t *testing.T) {
	for _, step := range []time.Duration{-5 * time.Minute, time.Hour} {
		t.Run(step.String(), func(t *testing.T) {
			clk := &stepClock{wall: t0}
			ringDir := filepath.Join(t.TempDir(), "ring")
			w := ring.NewWriter(ring.Config{Dir: ringDir, SegmentAge: time.Minute, SegmentBytes: 1 << 30, MaxBytes: 1 << 40},
				[]ring.Interface{{Name: "eth0"}, {Name: "eth1"}}, ring.Options{Now: clk.Now, Mono: clk.Mono})
			if err := w.Open(); err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			monoOf := map[uint32]time.Duration{}
			id := uint32(0)
			// run records a frame per interface every 250ms of monotonic
			// time until until, as the ring owner does: drained after
			// each batch, ticked when due. The step comes between two
			// batches, before the ring has looked at the clock.
			run := func(until time.Duration, stepAt time.Duration) {
				for clk.Mono() < until {
					clk.Advance(250 * time.Millisecond)
					if stepAt > 0 && clk.Mono() == stepAt {
						clk.Step(step)
					}
					for iface := range 2 {
						id++
						f := arpFrame(iface, id)
						monoOf[id] = clk.Mono()
						if err := w.WritePacket(iface, clk.Now(), len(f), f); err != nil {
							t.Fatal(err)
						}
					}
					now := clk.Now()
					w.Drained(now)
					if !now.Before(w.NextTick(now)) {
						if err := w.Tick(now); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
			run(8*time.Minute, 5*time.Minute)
			if st := w.Stats(); st.ClockSteps != 1 {
				t.Fatalf("ring detected %d clock steps, want 1: %+v", st.ClockSteps, st)
			}

			cfg := testConfig(filepath.Join(t.TempDir(), "snapshots"))
			cfg.Before, cfg.After = 6*time.Minute, time.Minute
			release := make(chan struct{})
			var wokeAt []time.Duration // monotonic time each sleep was to end
			sleeping := make(chan struct{}, 1)
			snaps, stop := startSnapshotter(t, cfg, ringDir, Options{Now: clk.Now, Mono: clk.Mono,
				Sleep: func(ctx context.Context, d time.Duration) error {
					wokeAt = append(wokeAt, clk.Mono()+d)
					select {
					case sleeping <- struct{}{}:
					default:
					}
					<-release
					return nil
				}})
			defer stop()
			T, Tmono := clk.Now(), clk.Mono()
			ch, err := snaps.Request(bundle.Event{Trigger: "step", Check: "manual", Reason: "clock step", Time: T})
			if err != nil {
				t.Fatal(err)
			}
			// The clock stands still until the snapshotter waits for the
			// after-window: the wait it computed is then read on the same
			// monotonic reading.
			select {
			case <-sleeping:
			case <-time.After(30 * time.Second):
				t.Fatal("the snapshotter never waited for the after-window")
			}
			run(Tmono+cfg.After+5*time.Second, 0)
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			close(release)
			res := <-ch
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if wokeAt[0] != Tmono+cfg.After {
				t.Errorf("the after-window wait ended at monotonic %v, want T+after = %v", wokeAt[0], Tmono+cfg.After)
			}
			var want, got []uint32
			for id, m := range monoOf {
				if m >= Tmono-cfg.Before && m <= Tmono+cfg.After {
					want = append(want, id)
				}
			}
			pkts, _, _ := readCapture(t, filepath.Join(res.Dir, captureName))
			for _, p := range pkts {
				got = append(got, p.ID)
			}
			slices.Sort(want)
			slices.Sort(got)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("frames in the bundle (-want +got): %d want, %d got\n%.2000s", len(want), len(got), diff)
			}
			if !slices.IsSorted(idsInOrder(pkts)) {
				t.Errorf("frames are not in capture order")
			}
			m, err := bundle.ReadManifestDir(res.Dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(m.ClockSteps) != 1 || m.ClockSteps[0].Step != step.String() || m.Window.ShortBy != "" {
				t.Errorf("manifest: clock_steps %+v, short_by %q, note %q; want the %v step named and nothing short", m.ClockSteps, m.Window.ShortBy, m.Window.Note, step)
			}
			if readme, _ := os.ReadFile(filepath.Join(res.Dir, readmeName)); !strings.Contains(string(readme), "the wall clock stepped "+step.String()) {
				t.Errorf("README.txt does not name the step:\n%s", readme)
			}
			t.Logf("%d frames in the window; manifest note: %s", len(got), m.Window.Note)
		})
	}
}

// idsInOrder returns the frame ids in the capture's order (ids grow with
// monotonic time, so they must be sorted).
func idsInOrder(pkts []readPkt) []uint32 {
	var out []uint32
	for _, p := range pkts {
		out = append(out, p.ID)
	}
	return out
}
