package netstate

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"sort"
	"time"

	"golang.org/x/sys/windows"
)

// iphlpSystem is the Windows system: whole-table reads through iphlpapi.dll
// (GetIpNetTable2, GetAdaptersAddresses). Windows' change notifications
// (NotifyIpInterfaceChange) say only that an interface changed, not how,
// and none exists for the neighbor table, so the watcher polls both tables
// every pollEvery instead.
type iphlpSystem struct{}

var _ system = iphlpSystem{}

// openSystem checks that iphlpapi.dll has the neighbor table call.
func openSystem(ctx context.Context) (system, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := procGetIpNetTable2.Find(); err != nil {
		return nil, fmt.Errorf("iphlpapi.dll: %w", err)
	}
	return iphlpSystem{}, nil
}

func (iphlpSystem) close() {}

func (iphlpSystem) links() ([]osLink, error) {
	links, _, err := ipLinks()
	if err != nil {
		return nil, err
	}
	out := make([]osLink, len(links))
	for i, l := range links {
		out[i] = osLink{Index: l.Index, Name: l.Name, Oper: l.OperState, Up: l.AdminUp, Carrier: l.Carrier, MTU: l.MTU, MAC: l.MAC}
	}
	return out, nil
}

func (iphlpSystem) neighbors() ([]osNeighbor, error) { return ipNeighborList() }

func (iphlpSystem) linkName(index int) string {
	names, err := adapterNames()
	if err != nil {
		return ""
	}
	return names[uint32(index)]
}

// subscribe returns no channel: the watcher polls.
func (iphlpSystem) subscribe(context.Context, int) (<-chan osEvent, func() error, error) {
	return nil, nil, nil
}

// openLinkModes reads a link's speed from GetAdaptersAddresses; Windows
// tells neither duplex nor autonegotiation there.
func openLinkModes() (func(index int, name string) (linkMode, error), func(), error) {
	read := func(index int, name string) (linkMode, error) {
		links, _, err := ipLinks()
		if err != nil {
			return linkMode{}, err
		}
		for _, l := range links {
			if l.Index == index {
				return linkMode{speed: l.SpeedMbps, duplex: "unknown"}, nil
			}
		}
		return linkMode{}, fmt.Errorf("link %d (%s) is gone", index, name)
	}
	return read, func() {}, nil
}

// Capture reads the neighbor table (IPv4, and IPv6 where Windows gives
// it), the adapters as links with their addresses, and the routing table.
// Each piece that fails is recorded in State.Errors and the rest is still
// returned; the error is non-nil only when ctx is already done.
func Capture(ctx context.Context) (*State, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("netstate: capture: %w", err)
	}
	s := &State{Time: time.Now(), Neighbors: []Neighbor{}, Links: []Link{}, Addrs: []Addr{}, Routes: []Route{}}
	fail := func(what string, err error) { s.Errors = append(s.Errors, what+": "+err.Error()) }
	var err error
	if s.Hostname, err = os.Hostname(); err != nil {
		fail("hostname", err)
	}
	v := windows.RtlGetVersion()
	s.Kernel = fmt.Sprintf("Windows %d.%d.%d %s", v.MajorVersion, v.MinorVersion, v.BuildNumber, runtime.GOARCH)

	links, addrs, err := ipLinks()
	if err != nil {
		fail("links", err)
	} else {
		s.Links, s.Addrs = links, addrs
		if s.Addrs == nil {
			s.Addrs = []Addr{}
		}
		sort.Slice(s.Links, func(i, j int) bool { return s.Links[i].Index < s.Links[j].Index })
	}
	names := make(map[uint32]string, len(links)) // for the routes
	byIndex := make(map[int]string, len(links))  // for the neighbors
	for _, l := range links {
		names[uint32(l.Index)], byIndex[l.Index] = l.Name, l.Name
	}
	if ctx.Err() == nil {
		if list, err := ipNeighborList(); err != nil {
			fail("neighbors", err)
		} else {
			for _, n := range list {
				s.Neighbors = append(s.Neighbors, Neighbor{IP: n.IP, MAC: n.MAC, Iface: ifName(byIndex, n.Index), State: n.State, Router: n.Router})
			}
			sortNeighbors(s.Neighbors)
		}
	}
	if ctx.Err() == nil {
		if routes, err := ipRoutes(names); err != nil {
			fail("routes", err)
		} else if routes != nil {
			s.Routes = routes
		}
	}
	if err := ctx.Err(); err != nil {
		fail("capture", fmt.Errorf("stopped early: %w", err))
	}
	return s, nil
}

// DefaultRoute returns the interface (its friendly name) and gateway of
// the IPv4 default route with the lowest metric; it wraps
// ErrNoDefaultRoute when there is none.
func DefaultRoute(ctx context.Context) (iface string, gateway netip.Addr, err error) {
	if err := ctx.Err(); err != nil {
		return "", netip.Addr{}, fmt.Errorf("netstate: default route: %w", err)
	}
	return ipDefaultRoute()
}
