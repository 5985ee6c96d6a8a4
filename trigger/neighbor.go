package trigger

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/arpbox/arpbox/netstate"
)

// neighborCheck reads the kernel neighbor table and fails when the entry for
// any of its IPs (on Interface, when set) is INCOMPLETE or FAILED: the host
// asked for the address and got no answer. An IP with no entry at all is not
// a failure: the kernel creates entries only for addresses it talks to, and
// drops idle ones. Every other state (REACHABLE, STALE, DELAY, PROBE,
// PERMANENT, NOARP) is healthy.
//
// Linux announces FAILED over netlink but never INCOMPLETE, so the check both
// polls the table on every probe and, as a Watcher, asks the Runner for an
// immediate probe when netlink reports a change for one of its IPs or a link
// change on its interface.
type neighborCheck struct {
	ips   []netip.Addr
	iface string

	neighbors func(context.Context) ([]netstate.Neighbor, error)
	watch     func(context.Context, func(netstate.Change)) error
}

func newNeighborCheck(target, iface string) (*neighborCheck, error) {
	ips, err := parseIPList(target)
	if err != nil {
		return nil, fmt.Errorf("neighbor: %w", err)
	}
	return &neighborCheck{ips: ips, iface: iface, neighbors: netstate.Neighbors, watch: netstate.Watch}, nil
}

// badNeighborState reports whether an `ip neigh` state word list means the
// address did not resolve.
func badNeighborState(state string) bool {
	for _, w := range strings.Fields(state) {
		if w == netstate.StateIncomplete || w == netstate.StateFailed {
			return true
		}
	}
	return false
}

func (c *neighborCheck) Probe(ctx context.Context) error {
	table, err := c.neighbors(ctx)
	if err != nil {
		return fmt.Errorf("neighbor table: %w", err)
	}
	var bad []string
	for _, n := range table {
		if !slices.Contains(c.ips, n.IP.WithZone("")) || (c.iface != "" && n.Iface != c.iface) {
			continue
		}
		if badNeighborState(n.State) {
			bad = append(bad, fmt.Sprintf("%s on %s is %s", n.IP, n.Iface, n.State))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("neighbor %s", strings.Join(bad, "; "))
	}
	return nil
}

// Watch kicks for neighbor changes of the check's IPs and link changes on
// its interface (any interface when none is set).
func (c *neighborCheck) Watch(ctx context.Context, kick func()) error {
	err := c.watch(ctx, func(ch netstate.Change) {
		if c.iface != "" && ch.Iface != c.iface {
			return
		}
		switch ch.Kind {
		case netstate.KindLink:
			kick()
		case netstate.KindNeighbor:
			if slices.Contains(c.ips, ch.IP.WithZone("")) {
				kick()
			}
		}
	})
	if err != nil {
		return fmt.Errorf("neighbor watch: %w", err)
	}
	return nil
}
