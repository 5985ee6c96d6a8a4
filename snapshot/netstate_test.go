package snapshot

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/arpbox/arpbox/bundle"
	"github.com/arpbox/arpbox/netstate"
)

type failingCollector struct{}

func (failingCollector) Name() string                           { return "broken" }
func (failingCollector) Collect(context.Context, *Bundle) error { return errors.New("disk on fire") }

func TestNetstateCollectorFreezesAtT(t *testing.T) {
	ringDir := filepath.Join(t.TempDir(), "ring")
	r := newTestRing(t, ringDir, []string{"eth0"}, t0)
	r.packet(0, at(time.Second), 1)
	r.flush()
	T := at(2 * time.Second)
	clk := &fakeClock{t: T}
	var captured, sleptBeforeCapture atomic.Bool
	nc := &NetstateCollector{
		capture: func(context.Context) (*netstate.State, error) {
			captured.Store(true)
			return &netstate.State{Time: clk.Now(), Hostname: "testhost", Neighbors: []netstate.Neighbor{
				{IP: netip.MustParseAddr("10.206.0.5"), Iface: "eth0", State: netstate.StateFailed},
			}}, nil
		},
		between: func(from, to time.Time) []netstate.Change {
			return []netstate.Change{{Time: T.Add(-time.Second), Kind: netstate.KindNeighbor, Iface: "eth0", IP: netip.MustParseAddr("10.206.0.5"), State: "FAILED", Detail: "PROBE -> FAILED"}}
		},
	}
	sleep := func(ctx context.Context, d time.Duration) error {
		if !captured.Load() {
			sleptBeforeCapture.Store(true)
		}
		clk.Set(clk.Now().Add(d)) // the state must not be read after this
		return nil
	}
	res := runSnapshot(t, testConfig(filepath.Join(t.TempDir(), "snap")), ringDir,
		bundle.Event{Trigger: "gw", Check: "neighbor", Target: "10.206.0.5", Reason: "FAILED", Time: T},
		Options{Now: clk.Now, Sleep: sleep, Collectors: []Collector{nc, failingCollector{}}})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if sleptBeforeCapture.Load() {
		t.Error("network state was read after waiting for the after-window; it must be read at T")
	}
	b, err := os.ReadFile(filepath.Join(res.Dir, "netstate.json"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := netstate.ReadStateJSON(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if !st.Time.Equal(T) {
		t.Errorf("state time = %v, want T = %v", st.Time, T)
	}
	txt, _ := os.ReadFile(filepath.Join(res.Dir, "netstate.txt"))
	jt, _ := os.ReadFile(filepath.Join(res.Dir, "journal.txt"))
	if !strings.Contains(string(txt), "10.206.0.5") || !strings.Contains(string(jt), "PROBE -> FAILED") {
		t.Errorf("netstate.txt / journal.txt lack the entry:\n%s\n%s", txt, jt)
	}
	m, _ := bundle.ReadManifestDir(res.Dir)
	checkFiles(t, res.Dir, m)
	type cr struct {
		Name, Error string
		OK          bool
	}
	var got []cr
	for _, c := range m.Collectors {
		got = append(got, cr{c.Name, c.Error, c.OK})
	}
	if diff := cmp.Diff([]cr{{"netstate", "", true}, {"broken", "disk on fire", false}}, got); diff != "" {
		t.Errorf("collector results (-want +got):\n%s", diff)
	}
}

func TestNetstateCollectorCaptureFails(t *testing.T) {
	ringDir := filepath.Join(t.TempDir(), "ring")
	r := newTestRing(t, ringDir, []string{"eth0"}, t0)
	r.packet(0, at(time.Second), 1)
	r.flush()
	nc := &NetstateCollector{
		capture: func(context.Context) (*netstate.State, error) { return nil, errors.New("netlink: permission denied") },
		between: func(from, to time.Time) []netstate.Change { return nil },
	}
	res := runSnapshot(t, testConfig(filepath.Join(t.TempDir(), "snap")), ringDir,
		bundle.Event{Trigger: "x", Check: "manual", Reason: "r", Time: at(2 * time.Second)}, Options{Collectors: []Collector{nc}})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	m, _ := bundle.ReadManifestDir(res.Dir)
	if len(m.Collectors) != 1 || m.Collectors[0].OK || !strings.Contains(m.Collectors[0].Error, "at T: read network state at T: netlink: permission denied") {
		t.Errorf("collectors = %+v", m.Collectors)
	}
	if _, err := os.Stat(filepath.Join(res.Dir, "journal.json")); err != nil {
		t.Errorf("journal not written when the state could not be read: %v", err)
	}
}
