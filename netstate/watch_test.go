package netstate

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestLinkDiff(t *testing.T) {
	up := linkSnap{name: "eth1", oper: "UP", up: true, carrier: true, mtu: 1500, mac: "00:15:5d:0a:3e:02"}
	with := func(f func(*linkSnap)) linkSnap { s := up; f(&s); return s }
	for _, tc := range []struct {
		name  string
		prev  linkSnap
		known bool
		cur   linkSnap
		want  []string
	}{
		{"new", linkSnap{}, false, up, []string{"new"}},
		{"same", up, true, up, nil},
		{"carrier lost", up, true, with(func(s *linkSnap) { s.carrier = false; s.oper = "LOWERLAYERDOWN" }),
			[]string{"carrier lost", "oper UP -> LOWERLAYERDOWN"}},
		{"admin down", up, true, with(func(s *linkSnap) { s.up, s.carrier, s.oper = false, false, "DOWN" }),
			[]string{"admin down", "carrier lost", "oper UP -> DOWN"}},
		{"mtu mac master rename", up, true, with(func(s *linkSnap) {
			s.mtu, s.mac, s.master, s.name = 9000, "02:00:00:00:00:01", 7, "wan0"
		}), []string{"renamed from eth1", "mtu 1500 -> 9000", "mac 00:15:5d:0a:3e:02 -> 02:00:00:00:00:01", "master if0 -> if7"}},
	} {
		if d := cmp.Diff(tc.want, linkDiff(tc.prev, tc.cur, tc.known)); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, d)
		}
	}
}

func TestSpeedTracker(t *testing.T) {
	modes := map[int]linkMode{3: {speed: 1000, duplex: "full", autoneg: "on"}}
	sp := &speedTracker{last: map[int]linkMode{},
		read: func(index int, name string) (linkMode, error) { return modes[index], nil }}
	if got := sp.hook(3, "eth1"); got != "" {
		t.Errorf("first read (baseline) = %q, want empty", got)
	}
	if got := sp.hook(3, "eth1"); got != "" {
		t.Errorf("unchanged = %q, want empty", got)
	}
	modes[3] = linkMode{speed: 100, duplex: "half", autoneg: "on"}
	if got, want := sp.hook(3, "eth1"), "speed 1000Mb/s -> 100Mb/s, duplex full -> half"; got != want {
		t.Errorf("renegotiated = %q, want %q", got, want)
	}
	modes[3] = linkMode{duplex: "unknown", autoneg: "on"}
	if got, want := sp.hook(3, "eth1"), "speed 100Mb/s -> unknown, duplex half -> unknown"; got != want {
		t.Errorf("carrier gone = %q, want %q", got, want)
	}
	if got := (&speedTracker{}).hook(3, "eth1"); got != "" {
		t.Errorf("untracked = %q, want empty", got)
	}
}

func TestWatcherNeighborDetails(t *testing.T) {
	var got []Change
	now := time.Date(2026, 11, 26, 12, 3, 0, 0, time.UTC)
	w := &watcher{
		fn:     func(c Change) { got = append(got, c) },
		now:    func() time.Time { return now },
		neighs: map[neighKey]neighSnap{},
		links:  map[int]linkSnap{3: {name: "eth1"}},
	}
	mac1, mac2 := mustMAC("00:21:5e:4d:30:8d"), mustMAC("00:21:5e:4d:30:8e")
	n := func(state string, mac net.HardwareAddr) osNeighbor {
		return osNeighbor{Index: 3, IP: netip.MustParseAddr("10.0.0.5"), State: state, MAC: mac}
	}
	w.neighUpdate(n(StateReachable, mac1), false)
	w.neighUpdate(n(StateReachable, mac1), false) // same: not reported
	w.neighUpdate(n(StateStale, mac1), false)
	w.neighUpdate(n(StateReachable, mac2), false)
	w.neighUpdate(n(StateFailed, nil), false)
	w.neighUpdate(n(StateFailed, nil), true)
	w.neighUpdate(n(StateFailed, nil), false)
	ip := netip.MustParseAddr("10.0.0.5")
	c := func(state string, mac net.HardwareAddr, detail string) Change {
		return Change{Time: now, Kind: KindNeighbor, Iface: "eth1", IP: ip, MAC: mac, State: state, Detail: detail}
	}
	want := []Change{
		c("REACHABLE", mac1, "new"),
		c("STALE", mac1, "REACHABLE -> STALE"),
		c("REACHABLE", mac2, "STALE -> REACHABLE, lladdr 00:21:5e:4d:30:8d -> 00:21:5e:4d:30:8e"),
		c("FAILED", nil, "REACHABLE -> FAILED"),
		c("FAILED", nil, "deleted"),
		c("FAILED", nil, "new, resolution failed"),
	}
	if d := cmp.Diff(want, got, netipCmp); d != "" {
		t.Errorf("changes (-want +got):\n%s", d)
	}
}

// fakeSystem is the OS seam under Watch, with tables the test sets and
// subscriptions it drives.
type fakeSystem struct {
	mu     sync.Mutex
	tlinks []osLink
	tneigh []osNeighbor
	dumps  int
	// notify says whether the OS announces changes; without, Watch polls.
	notify bool
	subErr error // subscribe fails with this
	subs   chan *fakeSub
}

type fakeSub struct {
	events chan osEvent // what the OS announces
	end    chan error   // ends the subscription with this error
}

func newFakeSystem(notify bool, links []osLink, neighs []osNeighbor) *fakeSystem {
	return &fakeSystem{notify: notify, tlinks: links, tneigh: neighs, subs: make(chan *fakeSub, 8)}
}

func (f *fakeSystem) set(links []osLink, neighs []osNeighbor) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tlinks, f.tneigh = links, neighs
}

func (f *fakeSystem) links() ([]osLink, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dumps++
	return append([]osLink(nil), f.tlinks...), nil
}

func (f *fakeSystem) neighbors() ([]osNeighbor, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]osNeighbor(nil), f.tneigh...), nil
}

func (f *fakeSystem) linkName(index int) string { return "" }
func (f *fakeSystem) close()                    {}

func (f *fakeSystem) subscribe(ctx context.Context, rcvBuf int) (<-chan osEvent, func() error, error) {
	if f.subErr != nil {
		return nil, nil, f.subErr
	}
	if !f.notify {
		return nil, nil, nil
	}
	sub := &fakeSub{events: make(chan osEvent), end: make(chan error, 1)}
	out := make(chan osEvent)
	var ended error
	go func() {
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case err := <-sub.end:
				ended = err
				return
			case ev := <-sub.events:
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	f.subs <- sub
	return out, func() error { return ended }, nil
}

// runWatch runs watch over sys until the test ends; it returns the changes
// and the errors passed to lost.
func runWatch(t *testing.T, sys system, poll time.Duration) (<-chan Change, <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	changes := make(chan Change, 64)
	lost := make(chan error, 8)
	done := make(chan error, 1)
	go func() {
		done <- watch(ctx, func(c Change) { changes <- c }, watchOpts{
			open:      func(context.Context) (system, error) { return sys, nil },
			lost:      func(err error) { lost <- err },
			pollEvery: poll,
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("watch returned %v after cancel, want nil", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("watch did not return within 5s of cancel")
		}
	})
	return changes, lost
}

// takeChanges reads n changes, failing after 5 s, then checks that no
// more come within quiet.
func takeChanges(t *testing.T, ch <-chan Change, n int, quiet time.Duration) []Change {
	t.Helper()
	var got []Change
	timeout := time.After(5 * time.Second)
	for len(got) < n {
		select {
		case c := <-ch:
			got = append(got, c)
		case <-timeout:
			t.Fatalf("got %d of %d changes: %+v", len(got), n, got)
		}
	}
	select {
	case c := <-ch:
		t.Errorf("unexpected change after the %d expected: %+v", n, c)
	case <-time.After(quiet):
	}
	return got
}

var ignoreTime = cmpopts.IgnoreFields(Change{}, "Time")

var (
	fmac1, fmac2 = mustMAC("00:21:5e:4d:30:8d"), mustMAC("00:21:5e:4d:30:8e")
	eth1Up       = osLink{Index: 2, Name: "eth1", Oper: "UP", Up: true, Carrier: true, MTU: 1500, MAC: mustMAC("02:00:00:00:00:02")}
	eth1NoCarr   = osLink{Index: 2, Name: "eth1", Oper: "LOWERLAYERDOWN", Up: true, Carrier: false, MTU: 1500, MAC: mustMAC("02:00:00:00:00:02")}
	eth2Up       = osLink{Index: 3, Name: "eth2", Oper: "UP", Up: true, Carrier: true, MTU: 1500, MAC: mustMAC("02:00:00:00:00:03")}
)

func fneigh(ip, state string, mac net.HardwareAddr) osNeighbor {
	return osNeighbor{Index: 2, IP: netip.MustParseAddr(ip), State: state, MAC: mac}
}

func nchange(ip, state string, mac net.HardwareAddr, detail string) Change {
	return Change{Kind: KindNeighbor, Iface: "eth1", IP: netip.MustParseAddr(ip), MAC: mac, State: state, Detail: detail}
}

// Notifications are relayed; when a subscription ends, Watch says so,
// resubscribes, re-reads both tables and reports what changed in the gap;
// a Resync event re-reads them too.
func TestWatchResubscribeReportsTheGap(t *testing.T) {
	sys := newFakeSystem(true, []osLink{eth1Up},
		[]osNeighbor{fneigh("10.0.0.5", StateReachable, fmac1), fneigh("10.0.0.6", StateStale, fmac2)})
	changes, lost := runWatch(t, sys, 0)
	sub := <-sys.subs

	sub.events <- osEvent{Neighbor: ptr(fneigh("10.0.0.5", StateStale, fmac1))}
	sub.events <- osEvent{Neighbor: ptr(fneigh("10.0.0.5", StateStale, fmac1))} // unchanged: not reported
	sub.events <- osEvent{Link: ptr(eth1NoCarr)}
	got := takeChanges(t, changes, 2, 50*time.Millisecond)
	want := []Change{
		nchange("10.0.0.5", StateStale, fmac1, "REACHABLE -> STALE"),
		{Kind: KindLink, Iface: "eth1", MAC: eth1Up.MAC, State: "LOWERLAYERDOWN", Detail: "carrier lost, oper UP -> LOWERLAYERDOWN"},
	}
	if d := cmp.Diff(want, got, netipCmp, ignoreTime); d != "" {
		t.Errorf("relayed changes (-want +got):\n%s", d)
	}

	// In the gap: carrier back, a new link, one neighbor re-resolved to
	// another MAC, one gone, one new and failed.
	sys.set([]osLink{eth1Up, eth2Up}, []osNeighbor{fneigh("10.0.0.5", StateReachable, fmac2), fneigh("10.0.0.7", StateFailed, nil)})
	sub.end <- syscall.ENOBUFS
	select {
	case err := <-lost:
		if !errors.Is(err, syscall.ENOBUFS) {
			t.Errorf("lost(%v), want the subscription's ENOBUFS", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("lost was not called when the subscription ended")
	}
	sub = <-sys.subs
	got = takeChanges(t, changes, 5, 50*time.Millisecond)
	want = []Change{
		{Kind: KindLink, Iface: "eth1", MAC: eth1Up.MAC, State: "UP", Detail: "carrier restored, oper LOWERLAYERDOWN -> UP"},
		{Kind: KindLink, Iface: "eth2", MAC: eth2Up.MAC, State: "UP", Detail: "new"},
		nchange("10.0.0.5", StateReachable, fmac2, "STALE -> REACHABLE, lladdr 00:21:5e:4d:30:8d -> 00:21:5e:4d:30:8e"),
		nchange("10.0.0.7", StateFailed, nil, "new, resolution failed"),
		nchange("10.0.0.6", StateStale, fmac2, "deleted"),
	}
	if d := cmp.Diff(want, got, netipCmp, ignoreTime); d != "" {
		t.Errorf("changes reported after resubscribing (-want +got):\n%s", d)
	}

	// A resync event: the OS says something changed, not what.
	sys.set([]osLink{eth1Up}, []osNeighbor{fneigh("10.0.0.5", StateReachable, fmac2), fneigh("10.0.0.7", StateFailed, nil)})
	sub.events <- osEvent{}
	got = takeChanges(t, changes, 1, 50*time.Millisecond)
	want = []Change{{Kind: KindLink, Iface: "eth2", MAC: eth2Up.MAC, State: "UP", Detail: "deleted"}}
	if d := cmp.Diff(want, got, netipCmp, ignoreTime); d != "" {
		t.Errorf("changes after a resync event (-want +got):\n%s", d)
	}
}

// Without notifications Watch polls the tables and reports differences,
// and nothing while they stay the same.
func TestWatchPollsWithoutNotifications(t *testing.T) {
	sys := newFakeSystem(false, []osLink{eth1Up}, []osNeighbor{fneigh("10.0.0.5", StateReachable, fmac1)})
	changes, _ := runWatch(t, sys, 10*time.Millisecond)
	time.Sleep(30 * time.Millisecond) // a few polls of unchanged tables
	sys.set([]osLink{eth1NoCarr}, []osNeighbor{fneigh("10.0.0.5", StateFailed, nil)})
	got := takeChanges(t, changes, 2, 50*time.Millisecond)
	want := []Change{
		{Kind: KindLink, Iface: "eth1", MAC: eth1Up.MAC, State: "LOWERLAYERDOWN", Detail: "carrier lost, oper UP -> LOWERLAYERDOWN"},
		nchange("10.0.0.5", StateFailed, nil, "REACHABLE -> FAILED"),
	}
	if d := cmp.Diff(want, got, netipCmp, ignoreTime); d != "" {
		t.Errorf("polled changes (-want +got):\n%s", d)
	}
	sys.mu.Lock()
	dumps := sys.dumps
	sys.mu.Unlock()
	if dumps < 3 {
		t.Errorf("%d table reads, want a poll every 10ms", dumps)
	}
}

// Watch returns an error only when it cannot start: no system on this OS,
// or the first subscription fails.
func TestWatchStartErrors(t *testing.T) {
	unsupported := func(context.Context) (system, error) { return nil, errors.ErrUnsupported }
	err := watch(context.Background(), func(Change) {}, watchOpts{open: unsupported})
	if !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("watch without a system = %v, want errors.ErrUnsupported", err)
	}
	sys := newFakeSystem(true, nil, nil)
	sys.subErr = syscall.EPERM
	err = watch(context.Background(), func(Change) {}, watchOpts{open: func(context.Context) (system, error) { return sys, nil }})
	if !errors.Is(err, syscall.EPERM) {
		t.Errorf("watch whose first subscription fails = %v, want EPERM", err)
	}
}

func ptr[T any](v T) *T { return &v }
