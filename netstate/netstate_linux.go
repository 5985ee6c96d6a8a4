package netstate

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// newHandle opens a route netlink handle on the calling thread, with the
// context's deadline (if any) as socket timeout.
func newHandle(ctx context.Context) (*netlink.Handle, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("open netlink: %w", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		d := time.Until(dl)
		if d < time.Millisecond {
			d = time.Millisecond
		}
		if err := h.SetSocketTimeout(d); err != nil {
			h.Close()
			return nil, fmt.Errorf("netlink socket timeout: %w", err)
		}
	}
	return h, nil
}

// retryDump retries a netlink dump the kernel interrupted because the table
// changed under it.
func retryDump[T any](dump func() ([]T, error)) ([]T, error) {
	var (
		v   []T
		err error
	)
	for range 5 {
		v, err = dump()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			return v, err
		}
	}
	return v, err
}

func linkNames(h *netlink.Handle) (map[int]string, error) {
	links, err := retryDump(h.LinkList)
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	names := make(map[int]string, len(links))
	for _, l := range links {
		names[l.Attrs().Index] = l.Attrs().Name
	}
	return names, nil
}

func neighbors(h *netlink.Handle, names map[int]string) ([]Neighbor, error) {
	list, err := neighborList(h)
	if err != nil {
		return nil, err
	}
	out := make([]Neighbor, 0, len(list))
	for _, n := range list {
		out = append(out, Neighbor{IP: n.IP, MAC: cloneMAC(n.MAC), Iface: ifName(names, n.Index), State: n.State, Router: n.Router})
	}
	sortNeighbors(out)
	return out, nil
}

// neighborList dumps the ARP and NDP entries.
func neighborList(h *netlink.Handle) ([]osNeighbor, error) {
	list, err := retryDump(func() ([]netlink.Neigh, error) { return h.NeighList(0, unix.AF_UNSPEC) })
	if err != nil {
		return nil, fmt.Errorf("list neighbors: %w", err)
	}
	out := make([]osNeighbor, 0, len(list))
	for _, n := range list {
		if o, ok := osNeighborOf(n); ok {
			out = append(out, o)
		}
	}
	return out, nil
}

// osNeighborOf converts an ARP or NDP entry; false for anything else.
func osNeighborOf(n netlink.Neigh) (osNeighbor, bool) {
	ip, ok := neighIP(n)
	if !ok {
		return osNeighbor{}, false
	}
	return osNeighbor{Index: n.LinkIndex, IP: ip, MAC: n.HardwareAddr, State: nudWords(n.State), Router: n.Flags&netlink.NTF_ROUTER != 0}, true
}

// osLinkOf converts a link's attributes.
func osLinkOf(a *netlink.LinkAttrs) osLink {
	return osLink{
		Index:   a.Index,
		Name:    a.Name,
		Oper:    operWord(a.OperState),
		Up:      a.Flags&net.FlagUp != 0,
		Carrier: a.RawFlags&unix.IFF_LOWER_UP != 0,
		MTU:     a.MTU,
		MAC:     a.HardwareAddr,
		Master:  a.MasterIndex,
	}
}

// neighIP returns the IP of an ARP or NDP entry; false for anything else
// (bridge FDB entries have no IP).
func neighIP(n netlink.Neigh) (netip.Addr, bool) {
	if n.Family != unix.AF_INET && n.Family != unix.AF_INET6 {
		return netip.Addr{}, false
	}
	ip, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Addr{}, false
	}
	if n.Family == unix.AF_INET {
		ip = ip.Unmap()
	}
	return ip, true
}

var nudNames = []struct {
	bit  int
	word string
}{
	{netlink.NUD_INCOMPLETE, StateIncomplete},
	{netlink.NUD_REACHABLE, StateReachable},
	{netlink.NUD_STALE, StateStale},
	{netlink.NUD_DELAY, StateDelay},
	{netlink.NUD_PROBE, StateProbe},
	{netlink.NUD_FAILED, StateFailed},
	{netlink.NUD_NOARP, StateNoARP},
	{netlink.NUD_PERMANENT, StatePermanent},
}

// nudWords maps NUD state bits to the words `ip neigh` prints.
func nudWords(state int) string {
	if state == netlink.NUD_NONE {
		return StateNone
	}
	var words []string
	for _, n := range nudNames {
		if state&n.bit != 0 {
			words = append(words, n.word)
		}
	}
	if len(words) == 0 {
		return fmt.Sprintf("0x%x", state)
	}
	return strings.Join(words, " ")
}

// operWord maps an operational state to the word `ip link` prints.
func operWord(s netlink.LinkOperState) string {
	switch s {
	case netlink.OperNotPresent:
		return "NOTPRESENT"
	case netlink.OperDown:
		return "DOWN"
	case netlink.OperLowerLayerDown:
		return "LOWERLAYERDOWN"
	case netlink.OperTesting:
		return "TESTING"
	case netlink.OperDormant:
		return "DORMANT"
	case netlink.OperUp:
		return "UP"
	default:
		return "UNKNOWN"
	}
}
