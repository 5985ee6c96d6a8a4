package netstate

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/mdlayher/ethtool"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Capture reads the neighbor table (IPv4 and IPv6), links (with speed and
// duplex from ethtool netlink), addresses and main-table routes. Each piece
// that fails is recorded in State.Errors and the rest is still returned; the
// error is non-nil only when nothing could be read (ctx already done, no
// netlink socket).
//
// The netlink sockets are opened on the calling goroutine's thread, so
// calling Capture inside a network namespace (e.g. from nstest.Host.Do)
// reads that namespace.
func Capture(ctx context.Context) (*State, error) {
	h, err := newHandle(ctx)
	if err != nil {
		return nil, fmt.Errorf("netstate: capture: %w", err)
	}
	defer h.Close()
	s := &State{Time: time.Now(), Neighbors: []Neighbor{}, Links: []Link{}, Addrs: []Addr{}, Routes: []Route{}}
	fail := func(what string, err error) { s.Errors = append(s.Errors, what+": "+err.Error()) }

	if s.Hostname, err = os.Hostname(); err != nil {
		fail("hostname", err)
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		fail("kernel", err)
	} else {
		s.Kernel = strings.Join([]string{unix.ByteSliceToString(u.Sysname[:]), unix.ByteSliceToString(u.Release[:]),
			unix.ByteSliceToString(u.Version[:]), unix.ByteSliceToString(u.Machine[:])}, " ")
	}

	links, err := retryDump(h.LinkList)
	if err != nil {
		fail("links", err)
	}
	names := make(map[int]string, len(links))
	for _, l := range links {
		names[l.Attrs().Index] = l.Attrs().Name
	}
	for _, l := range links {
		s.Links = append(s.Links, linkOf(l, names))
	}
	sort.Slice(s.Links, func(i, j int) bool { return s.Links[i].Index < s.Links[j].Index })
	if len(links) > 0 {
		s.Errors = append(s.Errors, readEthtool(ctx, s.Links)...)
	}

	if ctx.Err() == nil {
		if s.Neighbors, err = neighbors(h, names); err != nil {
			s.Neighbors = []Neighbor{}
			fail("neighbors", err)
		}
	}
	if ctx.Err() == nil {
		if s.Addrs, err = addrs(h, names); err != nil {
			s.Addrs = []Addr{}
			fail("addrs", err)
		}
	}
	if ctx.Err() == nil {
		if s.Routes, err = routes(h, names); err != nil {
			s.Routes = []Route{}
			fail("routes", err)
		}
	}
	if err := ctx.Err(); err != nil {
		fail("capture", fmt.Errorf("stopped early: %w", err))
	}
	return s, nil
}

func linkOf(l netlink.Link, names map[int]string) Link {
	a := l.Attrs()
	out := Link{
		Index:     a.Index,
		Name:      a.Name,
		Kind:      l.Type(),
		OperState: operWord(a.OperState),
		AdminUp:   a.Flags&net.FlagUp != 0,
		Carrier:   a.RawFlags&unix.IFF_LOWER_UP != 0,
		Flags:     linkFlags(a.RawFlags),
		MAC:       cloneMAC(a.HardwareAddr),
		MTU:       a.MTU,
		Duplex:    "unknown",
	}
	if a.MasterIndex != 0 {
		out.Master = ifName(names, a.MasterIndex)
	}
	if a.ParentIndex != 0 && a.ParentIndex != a.Index {
		out.Parent = ifName(names, a.ParentIndex)
	}
	switch v := l.(type) {
	case *netlink.Vlan:
		out.VLANID = v.VlanId
	case *netlink.Bond:
		out.BondMode = v.Mode.String()
	}
	if bs, ok := a.Slave.(*netlink.BondSlave); ok {
		out.SlaveState = bs.State.String()
	}
	return out
}

var linkFlagNames = []struct {
	bit  uint32
	name string
}{
	{unix.IFF_LOOPBACK, "LOOPBACK"},
	{unix.IFF_BROADCAST, "BROADCAST"},
	{unix.IFF_POINTOPOINT, "POINTOPOINT"},
	{unix.IFF_MULTICAST, "MULTICAST"},
	{unix.IFF_NOARP, "NOARP"},
	{unix.IFF_ALLMULTI, "ALLMULTI"},
	{unix.IFF_PROMISC, "PROMISC"},
	{unix.IFF_MASTER, "MASTER"},
	{unix.IFF_SLAVE, "SLAVE"},
	{unix.IFF_UP, "UP"},
	{unix.IFF_LOWER_UP, "LOWER_UP"},
	{unix.IFF_DORMANT, "DORMANT"},
}

// linkFlags lists flags the way `ip link` does, NO-CARRIER first when the
// link is up without carrier.
func linkFlags(raw uint32) []string {
	flags := []string{}
	if raw&unix.IFF_UP != 0 && raw&unix.IFF_LOWER_UP == 0 {
		flags = append(flags, "NO-CARRIER")
	}
	for _, f := range linkFlagNames {
		if raw&f.bit != 0 {
			flags = append(flags, f.name)
		}
	}
	return flags
}

// readEthtool fills speed, duplex, autoneg and port for every link that
// supports them. Links without ethtool support (veth on old kernels, bridges,
// loopback) keep "unknown" silently; other failures are returned as error
// strings.
func readEthtool(ctx context.Context, links []Link) []string {
	c, err := ethtool.New()
	if err != nil {
		return []string{"ethtool: netlink interface not available (needs Linux 5.6+), speed/duplex unknown: " + err.Error()}
	}
	defer c.Close()
	var errs []string
	for i := range links {
		if ctx.Err() != nil {
			break
		}
		l := &links[i]
		m, err := readLinkMode(c, l.Index, l.Name)
		if err != nil {
			errs = append(errs, fmt.Sprintf("ethtool %s: %v", l.Name, err))
		}
		l.SpeedMbps, l.Duplex, l.Autoneg = m.speed, m.duplex, m.autoneg
		if info, err := c.LinkInfo(ethtool.Interface{Index: l.Index}); err == nil {
			l.Port = portName(info.Port)
		}
	}
	return errs
}

// readLinkMode reads speed and duplex of one link. "Not supported" answers
// (virtual links, no driver support, no such device any more) give unknown
// values and no error.
func readLinkMode(c *ethtool.Client, index int, name string) (linkMode, error) {
	m := linkMode{duplex: "unknown"}
	lm, err := c.LinkMode(ethtool.Interface{Index: index})
	if err != nil {
		if ethtoolUnsupported(err) {
			return m, nil
		}
		return m, err
	}
	if lm.SpeedMegabits > 0 && uint32(lm.SpeedMegabits) != ^uint32(0) {
		m.speed = lm.SpeedMegabits
	}
	switch lm.Duplex {
	case ethtool.Full:
		m.duplex = "full"
	case ethtool.Half:
		m.duplex = "half"
	}
	switch lm.Autoneg {
	case ethtool.AutonegOn:
		m.autoneg = "on"
	case ethtool.AutonegOff:
		m.autoneg = "off"
	}
	return m, nil
}

func ethtoolUnsupported(err error) bool {
	return errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.ENODEV) ||
		errors.Is(err, os.ErrNotExist)
}

func portName(p ethtool.Port) string {
	switch p {
	case ethtool.TwistedPair:
		return "twisted pair"
	case ethtool.AUI:
		return "AUI"
	case ethtool.MII:
		return "MII"
	case ethtool.Fibre:
		return "fibre"
	case ethtool.BNC:
		return "BNC"
	case ethtool.DirectAttach:
		return "direct attach copper"
	case ethtool.None:
		return ""
	case ethtool.Other:
		return "other"
	default:
		return fmt.Sprintf("0x%02x", int(p))
	}
}

func addrs(h *netlink.Handle, names map[int]string) ([]Addr, error) {
	list, err := retryDump(func() ([]netlink.Addr, error) { return h.AddrList(nil, netlink.FAMILY_ALL) })
	if err != nil {
		return nil, fmt.Errorf("list addresses: %w", err)
	}
	out := make([]Addr, 0, len(list))
	for _, a := range list {
		if a.IPNet == nil {
			continue
		}
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		fam := "inet6"
		if ip.Is4In6() || ip.Is4() {
			ip, fam = ip.Unmap(), "inet"
		}
		ones, _ := a.Mask.Size()
		out = append(out, Addr{
			Iface:  ifName(names, a.LinkIndex),
			Family: fam,
			Prefix: netip.PrefixFrom(ip, ones),
			Scope:  scopeWord(a.Scope),
			Label:  a.Label,
			Flags:  addrFlags(a.Flags),
		})
	}
	// Interface order, then IPv4 before IPv6, otherwise as the kernel lists
	// them (primary before secondary).
	idx := make(map[string]int, len(names))
	for i, n := range names {
		idx[n] = i
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Iface != out[j].Iface {
			return idx[out[i].Iface] < idx[out[j].Iface]
		}
		return out[i].Family < out[j].Family
	})
	return out, nil
}

func scopeWord(s int) string {
	switch s {
	case unix.RT_SCOPE_UNIVERSE:
		return "global"
	case unix.RT_SCOPE_SITE:
		return "site"
	case unix.RT_SCOPE_LINK:
		return "link"
	case unix.RT_SCOPE_HOST:
		return "host"
	case unix.RT_SCOPE_NOWHERE:
		return "nowhere"
	default:
		return fmt.Sprintf("%d", s)
	}
}

func addrFlags(f int) []string {
	var out []string
	for _, x := range []struct {
		bit  int
		name string
	}{
		{unix.IFA_F_SECONDARY, "secondary"},
		{unix.IFA_F_TENTATIVE, "tentative"},
		{unix.IFA_F_DEPRECATED, "deprecated"},
		{unix.IFA_F_DADFAILED, "dadfailed"},
		{unix.IFA_F_NODAD, "nodad"},
		{unix.IFA_F_NOPREFIXROUTE, "noprefixroute"},
	} {
		if f&x.bit != 0 {
			out = append(out, x.name)
		}
	}
	if f&unix.IFA_F_PERMANENT == 0 {
		out = append(out, "dynamic")
	}
	return out
}

func routes(h *netlink.Handle, names map[int]string) ([]Route, error) {
	list, err := retryDump(func() ([]netlink.Route, error) {
		return h.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
	})
	if err != nil {
		return nil, fmt.Errorf("list routes: %w", err)
	}
	out := make([]Route, 0, len(list))
	for _, r := range list {
		if r.Family != unix.AF_INET && r.Family != unix.AF_INET6 {
			continue
		}
		out = append(out, routeOf(r, names))
	}
	return out, nil
}

func ipAddr(ip net.IP) netip.Addr {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return netip.Addr{}
	}
	if ip.To4() != nil {
		return a.Unmap()
	}
	return a
}

func routeOf(r netlink.Route, names map[int]string) Route {
	out := Route{
		Gateway: ipAddr(r.Gw),
		Src:     ipAddr(r.Src),
		Metric:  r.Priority,
	}
	if r.LinkIndex != 0 {
		out.Iface = ifName(names, r.LinkIndex)
	}
	if r.Dst != nil {
		ones, _ := r.Dst.Mask.Size()
		out.Dst = netip.PrefixFrom(ipAddr(r.Dst.IP), ones)
	} else if r.Family == unix.AF_INET {
		out.Dst = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	} else {
		out.Dst = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	}
	out.Default = out.Dst.Bits() == 0
	if r.Protocol != unix.RTPROT_UNSPEC {
		out.Protocol = r.Protocol.String()
	}
	switch r.Scope {
	case netlink.SCOPE_LINK:
		out.Scope = "link"
	case netlink.SCOPE_HOST:
		out.Scope = "host"
	case netlink.SCOPE_UNIVERSE:
	default:
		out.Scope = scopeWord(int(r.Scope))
	}
	out.Type = routeType(r.Type)
	for _, nh := range r.MultiPath {
		x := NextHop{Gateway: ipAddr(nh.Gw), Weight: nh.Hops + 1}
		if nh.LinkIndex != 0 {
			x.Iface = ifName(names, nh.LinkIndex)
		}
		out.NextHops = append(out.NextHops, x)
	}
	return out
}

func routeType(t int) string {
	switch t {
	case unix.RTN_UNICAST, unix.RTN_UNSPEC:
		return ""
	case unix.RTN_LOCAL:
		return "local"
	case unix.RTN_BROADCAST:
		return "broadcast"
	case unix.RTN_ANYCAST:
		return "anycast"
	case unix.RTN_MULTICAST:
		return "multicast"
	case unix.RTN_BLACKHOLE:
		return "blackhole"
	case unix.RTN_UNREACHABLE:
		return "unreachable"
	case unix.RTN_PROHIBIT:
		return "prohibit"
	case unix.RTN_THROW:
		return "throw"
	default:
		return fmt.Sprintf("type%d", t)
	}
}

// DefaultRoute returns the interface and gateway of the host's default
// route: the lowest-metric IPv4 unicast default route of the main table, or
// the lowest-metric IPv6 one when there is no IPv4 default. Routes with a
// gateway are preferred over device-only ones; for a device-only default
// route (point-to-point links) gateway is the zero Addr. When the main table
// has no default route, the error wraps ErrNoDefaultRoute.
//
// Like Capture, it reads the network namespace of the calling thread.
func DefaultRoute(ctx context.Context) (iface string, gateway netip.Addr, err error) {
	h, err := newHandle(ctx)
	if err != nil {
		return "", netip.Addr{}, fmt.Errorf("netstate: default route: %w", err)
	}
	defer h.Close()
	names, err := linkNames(h)
	if err != nil {
		return "", netip.Addr{}, fmt.Errorf("netstate: default route: %w", err)
	}
	rs, err := routes(h, names)
	if err != nil {
		return "", netip.Addr{}, fmt.Errorf("netstate: default route: %w", err)
	}
	r, ok := pickDefault(rs)
	if !ok {
		return "", netip.Addr{}, fmt.Errorf("netstate: %w", ErrNoDefaultRoute)
	}
	return r.Iface, r.Gateway, nil
}

// pickDefault chooses the default route DefaultRoute reports, flattening a
// multipath route to its first usable next hop.
func pickDefault(rs []Route) (Route, bool) {
	var cands []Route
	for _, r := range rs {
		if !r.Default || r.Type != "" {
			continue
		}
		if !r.Gateway.IsValid() && r.Iface == "" {
			for _, nh := range r.NextHops {
				if nh.Iface != "" {
					r.Gateway, r.Iface = nh.Gateway, nh.Iface
					break
				}
			}
		}
		if r.Iface == "" {
			continue
		}
		cands = append(cands, r)
	}
	if len(cands) == 0 {
		return Route{}, false
	}
	sort.SliceStable(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if a.Dst.Addr().Is4() != b.Dst.Addr().Is4() {
			return a.Dst.Addr().Is4()
		}
		if a.Gateway.IsValid() != b.Gateway.IsValid() {
			return a.Gateway.IsValid()
		}
		return a.Metric < b.Metric
	})
	return cands[0], true
}
