package netstate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Neighbors returns the whole kernel neighbor table, IPv4 (ARP) and IPv6
// (NDP), sorted by interface and address. Bridge FDB entries are left out.
//
// The netlink socket is opened on the calling goroutine's thread, so calling
// Neighbors inside a network namespace (e.g. from nstest.Host.Do) reads that
// namespace's table.
func Neighbors(ctx context.Context) ([]Neighbor, error) {
	h, err := newHandle(ctx)
	if err != nil {
		return nil, fmt.Errorf("netstate: neighbors: %w", err)
	}
	defer h.Close()
	names, err := linkNames(h)
	if err != nil {
		return nil, fmt.Errorf("netstate: neighbors: %w", err)
	}
	ns, err := neighbors(h, names)
	if err != nil {
		return nil, fmt.Errorf("netstate: neighbors: %w", err)
	}
	return ns, nil
}

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

func ifName(names map[int]string, index int) string {
	if n, ok := names[index]; ok {
		return n
	}
	return fmt.Sprintf("if%d", index)
}

func neighbors(h *netlink.Handle, names map[int]string) ([]Neighbor, error) {
	list, err := retryDump(func() ([]netlink.Neigh, error) { return h.NeighList(0, unix.AF_UNSPEC) })
	if err != nil {
		return nil, fmt.Errorf("list neighbors: %w", err)
	}
	out := make([]Neighbor, 0, len(list))
	for _, n := range list {
		ip, ok := neighIP(n)
		if !ok {
			continue
		}
		out = append(out, Neighbor{
			IP:     ip,
			MAC:    cloneMAC(n.HardwareAddr),
			Iface:  ifName(names, n.LinkIndex),
			State:  nudWords(n.State),
			Router: n.Flags&netlink.NTF_ROUTER != 0,
		})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Iface != out[j].Iface {
			return out[i].Iface < out[j].Iface
		}
		return out[i].IP.Less(out[j].IP)
	})
	return out, nil
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

func cloneMAC(m net.HardwareAddr) net.HardwareAddr {
	if len(m) == 0 {
		return nil
	}
	return bytes.Clone(m)
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
