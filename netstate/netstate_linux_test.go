package netstate

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arpbox/arpbox/internal/nstest"
)

// pair makes two namespaces joined by a veth on 10.205.<n>.0/24: the local
// end .1 (where netstate code runs) and the peer .2.
func pair(t *testing.T, n int) (*nstest.Host, *nstest.Link, *nstest.Host, *nstest.Link) {
	t.Helper()
	a, b := nstest.NewHost(t, "ns"), nstest.NewHost(t, "np")
	la, lb := nstest.Veth(t, a, fmt.Sprintf("10.205.%d.1/24", n), b, fmt.Sprintf("10.205.%d.2/24", n))
	return a, la, b, lb
}

// dropARP makes h drop every incoming ARP packet.
func dropARP(t *testing.T, h *nstest.Host) {
	t.Helper()
	h.MustRun("nft", "add", "table", "arp", "f")
	h.MustRun("nft", "add", "chain", "arp", "f", "in", "{ type filter hook input priority 0; }")
	h.MustRun("nft", "add", "rule", "arp", "f", "in", "drop")
}

// fastARP shortens ARP resolution on dev so a failed lookup ends in FAILED
// within about a second instead of three.
func fastARP(t *testing.T, h *nstest.Host, dev string) {
	t.Helper()
	h.MustRun("sysctl", "-q", "-w", "net.ipv4.neigh."+dev+".retrans_time_ms=200")
}

func neighborsIn(t *testing.T, h *nstest.Host) []Neighbor {
	t.Helper()
	var ns []Neighbor
	err := h.Do(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var err error
		ns, err = Neighbors(ctx)
		return err
	})
	if err != nil {
		t.Fatalf("Neighbors in %s: %v", h.NS, err)
	}
	return ns
}

func findNeighbor(ns []Neighbor, iface string, ip netip.Addr) (Neighbor, bool) {
	for _, n := range ns {
		if n.Iface == iface && n.IP == ip {
			return n, true
		}
	}
	return Neighbor{}, false
}

// waitNeighbor polls h's neighbor table until ok accepts the entry for ip on
// iface, or fails the test after d.
func waitNeighbor(t *testing.T, h *nstest.Host, iface string, ip netip.Addr, d time.Duration, ok func(Neighbor) bool) Neighbor {
	t.Helper()
	deadline := time.Now().Add(d)
	var last []Neighbor
	for time.Now().Before(deadline) {
		last = neighborsIn(t, h)
		if n, found := findNeighbor(last, iface, ip); found && ok(n) {
			return n
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("neighbor %s on %s: condition not met within %v; table: %+v", ip, iface, d, last)
	return Neighbor{}
}

func TestNeighborsReachableThenFailed(t *testing.T) {
	nstest.RequireRoot(t, "ping", "nft", "sysctl")
	a, la, b, lb := pair(t, 1)
	fastARP(t, a, la.Name)
	a.MustRun("ping", "-c", "1", "-W", "2", lb.Addr().String())

	n := waitNeighbor(t, a, la.Name, lb.Addr(), 5*time.Second, func(n Neighbor) bool { return n.State == StateReachable })
	if n.MAC.String() != lb.MAC.String() {
		t.Errorf("MAC of %s = %v, want %v", lb.Addr(), n.MAC, lb.MAC)
	}

	dropARP(t, b)
	a.MustRun("ip", "neigh", "flush", "dev", la.Name)
	// The ping fails (no ARP reply); the entry goes INCOMPLETE, then FAILED.
	_, _ = a.Run("ping", "-c", "1", "-W", "1", lb.Addr().String())
	waitNeighbor(t, a, la.Name, lb.Addr(), 5*time.Second, func(n Neighbor) bool {
		return n.State == StateIncomplete || n.State == StateFailed
	})
}

// watcher runs Watch inside h until the test ends and returns its changes.
// It returns once Watch is known to be subscribed (it saw a new link appear).
func startWatch(t *testing.T, h *nstest.Host) <-chan Change {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan Change, 1024)
	done := make(chan error, 1)
	go func() {
		done <- h.Do(func() error {
			return Watch(ctx, func(c Change) {
				select {
				case ch <- c:
				default:
					t.Errorf("change channel full, dropped %+v", c)
				}
			})
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Watch returned %v after cancel, want nil", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Watch did not return within 5s of cancel")
		}
	})
	waitReady(t, h, ch)
	return ch
}

// waitReady adds links in h until Watch reports one (veth pairs: the dummy
// module may be missing).
func waitReady(t *testing.T, h *nstest.Host, ch <-chan Change) {
	t.Helper()
	for i := range 50 {
		name := fmt.Sprintf("rdy%d", i)
		h.MustRun("ip", "link", "add", name, "type", "veth", "peer", "name", name+"p")
		timeout := time.After(200 * time.Millisecond)
	wait:
		for {
			select {
			case c := <-ch:
				if c.Kind == KindLink && c.Iface == name {
					return
				}
			case <-timeout:
				break wait
			}
		}
	}
	t.Fatal("Watch never reported the readiness link")
}

// waitChange reads ch until ok accepts a change, failing the test after d.
func waitChange(t *testing.T, ch <-chan Change, d time.Duration, what string, ok func(Change) bool) Change {
	t.Helper()
	timeout := time.After(d)
	var seen []string
	for {
		select {
		case c := <-ch:
			if ok(c) {
				return c
			}
			seen = append(seen, fmt.Sprintf("%+v", c))
		case <-timeout:
			t.Fatalf("no change %s within %v; saw:\n%s", what, d, strings.Join(seen, "\n"))
		}
	}
}

func TestWatchNeighborFailedAndLinkDown(t *testing.T) {
	nstest.RequireRoot(t, "ping", "nft", "sysctl")
	a, la, b, lb := pair(t, 2)
	fastARP(t, a, la.Name)
	ch := startWatch(t, a)

	a.MustRun("ping", "-c", "1", "-W", "2", lb.Addr().String())
	waitChange(t, ch, 5*time.Second, "neighbor REACHABLE", func(c Change) bool {
		return c.Kind == KindNeighbor && c.IP == lb.Addr() && c.State == StateReachable && c.Iface == la.Name &&
			c.MAC.String() == lb.MAC.String()
	})

	dropARP(t, b)
	a.MustRun("ip", "neigh", "flush", "dev", la.Name)
	_, _ = a.Run("ping", "-c", "1", "-W", "1", lb.Addr().String())
	c := waitChange(t, ch, 5*time.Second, "neighbor FAILED", func(c Change) bool {
		return c.Kind == KindNeighbor && c.IP == lb.Addr() && c.State == StateFailed
	})
	t.Logf("saw %+v", c)

	// The peer goes down: our end loses carrier.
	b.MustRun("ip", "link", "set", lb.Name, "down")
	c = waitChange(t, ch, 5*time.Second, "carrier lost", func(c Change) bool {
		return c.Kind == KindLink && c.Iface == la.Name && strings.Contains(c.Detail, "carrier lost")
	})
	t.Logf("saw %+v", c)

	// Our end goes down administratively.
	a.MustRun("ip", "link", "set", la.Name, "down")
	c = waitChange(t, ch, 5*time.Second, "admin down", func(c Change) bool {
		return c.Kind == KindLink && c.Iface == la.Name && strings.Contains(c.Detail, "admin down") && c.State == "DOWN"
	})
	t.Logf("saw %+v", c)
}

// waitJournal polls j until ok accepts one of its changes, failing the test
// after d.
func waitJournal(t *testing.T, j *Journal, d time.Duration, what string, ok func(Change) bool) Change {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		for _, c := range j.Between(time.Time{}, time.Time{}) {
			if ok(c) {
				return c
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	var b strings.Builder
	_ = WriteChangesText(&b, j.Between(time.Time{}, time.Time{}))
	t.Fatalf("journal has no change %s after %v:\n%s", what, d, b.String())
	return Change{}
}

func TestJournalRunBetween(t *testing.T) {
	nstest.RequireRoot(t, "ping", "nft", "sysctl")
	a, la, b, lb := pair(t, 5)
	fastARP(t, a, la.Name)
	j := NewJournal(nil, 100)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Do(func() error { return j.Run(ctx) }) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v after cancel, want nil", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Run did not return within 5s of cancel")
		}
	})
	// Ready once the journal shows a link we add.
	for i := 0; ; i++ {
		name := fmt.Sprintf("rdy%d", i)
		a.MustRun("ip", "link", "add", name, "type", "veth", "peer", "name", name+"p")
		deadline := time.Now().Add(200 * time.Millisecond)
		for time.Now().Before(deadline) && len(j.Between(time.Time{}, time.Time{})) == 0 {
			time.Sleep(10 * time.Millisecond)
		}
		if len(j.Between(time.Time{}, time.Time{})) > 0 {
			break
		}
		if i == 50 {
			t.Fatal("journal never recorded the readiness link")
		}
	}

	a.MustRun("ping", "-c", "1", "-W", "2", lb.Addr().String())
	reach := waitJournal(t, j, 5*time.Second, "neighbor REACHABLE", func(c Change) bool {
		return c.Kind == KindNeighbor && c.IP == lb.Addr() && c.State == StateReachable
	})

	time.Sleep(10 * time.Millisecond)
	mid := time.Now()
	dropARP(t, b)
	a.MustRun("ip", "neigh", "flush", "dev", la.Name)
	_, _ = a.Run("ping", "-c", "1", "-W", "1", lb.Addr().String())
	failed := waitJournal(t, j, 5*time.Second, "neighbor FAILED", func(c Change) bool {
		return c.Kind == KindNeighbor && c.IP == lb.Addr() && c.State == StateFailed
	})
	b.MustRun("ip", "link", "set", lb.Name, "down")
	lost := waitJournal(t, j, 5*time.Second, "carrier lost", func(c Change) bool {
		return c.Kind == KindLink && c.Iface == la.Name && strings.Contains(c.Detail, "carrier lost")
	})
	before := j.Between(time.Time{}, mid)
	after := j.Between(mid, time.Time{})
	contains := func(cs []Change, x Change) bool {
		for _, c := range cs {
			if c.Time.Equal(x.Time) && c.Kind == x.Kind && c.Detail == x.Detail && c.Iface == x.Iface {
				return true
			}
		}
		return false
	}
	if !contains(before, reach) || contains(after, reach) {
		t.Errorf("REACHABLE at %v: want it before %v only", reach.Time, mid)
	}
	for _, c := range []Change{failed, lost} {
		if contains(before, c) || !contains(after, c) {
			t.Errorf("%s %q at %v: want it after %v only", c.Kind, c.Detail, c.Time, mid)
		}
	}
	if got := j.Between(failed.Time, failed.Time); len(got) != 1 || got[0].State != StateFailed {
		t.Errorf("Between(T, T) at the FAILED change = %+v, want just it", got)
	}
	var text strings.Builder
	if err := WriteChangesText(&text, after); err != nil {
		t.Fatal(err)
	}
	if !hasLine(text.String(), "neighbor", la.Name, lb.Addr().String(), "FAILED") ||
		!hasLine(text.String(), "link", la.Name, "carrier lost") {
		t.Errorf("journal text lacks the FAILED or carrier-lost line:\n%s", text.String())
	}
	t.Logf("journal after %v:\n%s", mid.UTC().Format(textTime), text.String())
}

func TestWatchResubscribesAfterOverflow(t *testing.T) {
	nstest.RequireRoot(t)
	a, la, _, _ := pair(t, 6)
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan Change, 4096)
	lost := make(chan error, 16)
	var hold atomic.Bool
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- a.Do(func() error {
			return watch(ctx, func(c Change) {
				if hold.Load() {
					<-release
				}
				ch <- c
			}, watchOpts{
				lost:   func(err error) { lost <- err },
				rcvBuf: 1, // the kernel rounds up to its minimum, a few KiB
			})
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
			t.Errorf("watch did not return within 5s of cancel")
		}
	})
	waitReady(t, a, ch)

	// Stall the consumer, then add far more entries than the socket buffer
	// holds: the kernel drops notifications and reports ENOBUFS.
	hold.Store(true)
	var batch strings.Builder
	const n = 240
	for i := range n {
		fmt.Fprintf(&batch, "neigh add 10.205.6.%d lladdr 02:ab:cd:00:00:%02x dev %s nud permanent\n", i+10, i, la.Name)
	}
	cmd := a.Command(context.Background(), "ip", "-batch", "-")
	cmd.Stdin = strings.NewReader(batch.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ip -batch: %v: %s", err, out)
	}
	close(release)
	select {
	case err := <-lost:
		t.Logf("subscription lost as intended: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("no receive error after overflowing the socket buffer")
	}

	// Every entry is reported, by notification or by the re-read after
	// resubscribing.
	seen := map[netip.Addr]bool{}
	deadline := time.After(10 * time.Second)
	for len(seen) < n {
		select {
		case c := <-ch:
			if c.Kind == KindNeighbor && c.State == StatePermanent {
				seen[c.IP] = true
			}
		case <-deadline:
			t.Fatalf("saw %d of %d new entries after resubscribing", len(seen), n)
		}
	}
	// And the new subscription delivers fresh changes.
	a.MustRun("ip", "link", "set", la.Name, "mtu", "1280")
	waitChange(t, ch, 5*time.Second, "mtu change after resubscribing", func(c Change) bool {
		return c.Kind == KindLink && c.Iface == la.Name && strings.Contains(c.Detail, "mtu 1500 -> 1280")
	})
}
