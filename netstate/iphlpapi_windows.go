package netstate

// Calls into iphlpapi.dll for the neighbor table, the links and the default
// route. GetIpNetTable2, GetIpForwardTable2 and FreeMibTable are not in
// x/sys/windows; they are looked up at run time (the DLL ships with every
// Windows since Vista). The tables are copied out of Windows' memory and
// decoded by iphlpapi_rows.go.

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/windows"
)

var (
	iphlpapi               = windows.NewLazySystemDLL("iphlpapi.dll")
	procGetIpNetTable2     = iphlpapi.NewProc("GetIpNetTable2")
	procGetIpForwardTable2 = iphlpapi.NewProc("GetIpForwardTable2")
	procFreeMibTable       = iphlpapi.NewProc("FreeMibTable")
)

// mibTable calls GetIpNetTable2 or GetIpForwardTable2 for family and
// returns a copy of the table's bytes.
func mibTable(proc *windows.LazyProc, family uint16, rowSize int) ([]byte, error) {
	if err := proc.Find(); err != nil {
		return nil, fmt.Errorf("iphlpapi.dll: %w", err)
	}
	if err := procFreeMibTable.Find(); err != nil {
		return nil, fmt.Errorf("iphlpapi.dll: %w", err)
	}
	var table uintptr
	if rc, _, _ := proc.Call(uintptr(family), uintptr(unsafe.Pointer(&table))); rc != 0 {
		return nil, fmt.Errorf("%s: %w", proc.Name, windows.Errno(rc))
	}
	defer procFreeMibTable.Call(table)
	p := *(*unsafe.Pointer)(unsafe.Pointer(&table)) // Windows' memory, not Go's
	n := *(*uint32)(p)
	size := mibTableHeader + uint64(n)*uint64(rowSize)
	if size > 1<<30 {
		return nil, fmt.Errorf("%s: implausible row count %d", proc.Name, n)
	}
	return append([]byte(nil), unsafe.Slice((*byte)(p), size)...), nil
}

// ipNeighbors reads the neighbor table: IPv4 (ARP), and IPv6 (NDP) where
// GetIpNetTable2 supports it (Wine 8 answers ERROR_INVALID_FUNCTION; that
// part is then left out silently). Interfaces are named by friendly name.
func ipNeighbors() ([]Neighbor, error) {
	names, err := adapterNames()
	if err != nil {
		return nil, fmt.Errorf("netstate: neighbors: %w", err)
	}
	list, err := ipNeighborList()
	if err != nil {
		return nil, err
	}
	out := make([]Neighbor, 0, len(list))
	for _, n := range list {
		out = append(out, Neighbor{IP: n.IP, MAC: n.MAC, Iface: names[uint32(n.Index)], State: n.State, Router: n.Router})
	}
	return out, nil
}

// ipNeighborList reads the neighbor table as ipNeighbors does, with
// interface indexes.
func ipNeighborList() ([]osNeighbor, error) {
	var out []osNeighbor
	for _, fam := range []uint16{winAFInet, winAFInet6} {
		b, err := mibTable(procGetIpNetTable2, fam, ipnetRow2Size)
		if fam == winAFInet6 && unsupportedFamily(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("netstate: neighbors: %w", err)
		}
		rows, err := parseIPNetTable(b)
		if err != nil {
			return nil, fmt.Errorf("netstate: neighbors: %w", err)
		}
		for _, r := range rows {
			if n, ok := neighborFromRow(r, func(uint32) string { return "" }); ok {
				out = append(out, osNeighbor{Index: int(r.IfIndex), IP: n.IP, MAC: n.MAC, State: n.State, Router: n.Router})
			}
		}
	}
	return out, nil
}

// unsupportedFamily reports whether err is how a table call says it does
// not do this address family (Wine 8 for AF_INET6).
func unsupportedFamily(err error) bool {
	return errors.Is(err, windows.ERROR_INVALID_FUNCTION) || errors.Is(err, windows.ERROR_NOT_SUPPORTED) ||
		errors.Is(err, windows.ERROR_INVALID_PARAMETER)
}

// ipRoutes reads the IPv4 and (where supported) IPv6 routing tables,
// naming interfaces with names.
func ipRoutes(names map[uint32]string) ([]Route, error) {
	var out []Route
	for _, fam := range []uint16{winAFInet, winAFInet6} {
		b, err := mibTable(procGetIpForwardTable2, fam, ipforwardRow2Size)
		if fam == winAFInet6 && unsupportedFamily(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("routes: %w", err)
		}
		rows, err := parseIPForwardTable(b)
		if err != nil {
			return nil, fmt.Errorf("routes: %w", err)
		}
		for _, r := range rows {
			rt := Route{Dst: r.Dst, Iface: names[r.IfIndex], Metric: int(r.Metric), Default: r.Dst.Bits() == 0}
			if r.NextHop.IsValid() && !r.NextHop.IsUnspecified() {
				rt.Gateway = r.NextHop
			} else {
				rt.Scope = "link"
			}
			out = append(out, rt)
		}
	}
	return out, nil
}

// ipDefaultRoute returns the IPv4 default route with the lowest route
// metric: its interface's friendly name and gateway. It wraps
// ErrNoDefaultRoute when there is none.
func ipDefaultRoute() (iface string, gateway netip.Addr, err error) {
	b, err := mibTable(procGetIpForwardTable2, winAFInet, ipforwardRow2Size)
	if err != nil {
		return "", netip.Addr{}, fmt.Errorf("netstate: default route: %w", err)
	}
	rows, err := parseIPForwardTable(b)
	if err != nil {
		return "", netip.Addr{}, fmt.Errorf("netstate: default route: %w", err)
	}
	r, ok := defaultRouteRow(rows)
	if !ok {
		return "", netip.Addr{}, fmt.Errorf("netstate: default route: %w", ErrNoDefaultRoute)
	}
	names, err := adapterNames()
	if err != nil {
		return "", netip.Addr{}, fmt.Errorf("netstate: default route: %w", err)
	}
	return names[r.IfIndex], r.NextHop, nil
}

// ipLinks lists the network adapters (GetAdaptersAddresses) as links, and
// their unicast addresses. Windows gives no administrative state here:
// AdminUp and the UP flag mean operationally up.
func ipLinks() ([]Link, []Addr, error) {
	var links []Link
	var addrs []Addr
	err := eachAdapter(func(a *windows.IpAdapterAddresses) {
		name := windows.UTF16PtrToString(a.FriendlyName)
		l := Link{
			Index:     int(a.IfIndex),
			Name:      name,
			Kind:      ifTypeKind(a.IfType),
			OperState: operStateWord(a.OperStatus),
			MTU:       int(a.Mtu),
			Duplex:    "unknown",
		}
		if a.Mtu == ^uint32(0) {
			l.MTU = 0
		}
		if a.PhysicalAddressLength > 0 && a.PhysicalAddressLength <= 8 {
			l.MAC = net.HardwareAddr(append([]byte(nil), a.PhysicalAddress[:a.PhysicalAddressLength]...))
		}
		if l.OperState == "UP" {
			l.AdminUp, l.Carrier = true, true
			l.Flags = []string{"UP", "LOWER_UP"}
			if s := a.TransmitLinkSpeed; s != ^uint64(0) && s/1e6 <= 1<<31 {
				l.SpeedMbps = int(s / 1e6)
			}
		}
		links = append(links, l)
		for u := a.FirstUnicastAddress; u != nil; u = u.Next {
			ip, ok := sockaddrAddr(u.Address)
			if !ok {
				continue
			}
			p, err := ip.Prefix(int(u.OnLinkPrefixLength))
			if err != nil {
				continue
			}
			fam := "inet"
			if ip.Is6() {
				fam = "inet6"
			}
			scope := "global"
			switch {
			case ip.IsLoopback():
				scope = "host"
			case ip.IsLinkLocalUnicast():
				scope = "link"
			}
			addrs = append(addrs, Addr{Iface: name, Family: fam, Prefix: netip.PrefixFrom(ip, p.Bits()), Scope: scope})
		}
	})
	if err != nil {
		return nil, nil, fmt.Errorf("netstate: links: %w", err)
	}
	return links, addrs, nil
}

// ifTypeKind maps IANA ifType to a link kind.
func ifTypeKind(t uint32) string {
	switch t {
	case windows.IF_TYPE_ETHERNET_CSMACD:
		return "device"
	case windows.IF_TYPE_SOFTWARE_LOOPBACK:
		return "loopback"
	case windows.IF_TYPE_IEEE80211:
		return "wifi"
	case windows.IF_TYPE_TUNNEL:
		return "tunnel"
	case windows.IF_TYPE_PPP:
		return "ppp"
	}
	return fmt.Sprintf("iftype %d", t)
}

func sockaddrAddr(sa windows.SocketAddress) (netip.Addr, bool) {
	if sa.Sockaddr == nil {
		return netip.Addr{}, false
	}
	switch sa.Sockaddr.Addr.Family {
	case windows.AF_INET:
		in := (*windows.RawSockaddrInet4)(unsafe.Pointer(sa.Sockaddr))
		return netip.AddrFrom4(in.Addr), true
	case windows.AF_INET6:
		in := (*windows.RawSockaddrInet6)(unsafe.Pointer(sa.Sockaddr))
		return netip.AddrFrom16(in.Addr), true
	}
	return netip.Addr{}, false
}

// adapterNames maps interface indexes to friendly names.
func adapterNames() (map[uint32]string, error) {
	names := make(map[uint32]string)
	err := eachAdapter(func(a *windows.IpAdapterAddresses) {
		names[a.IfIndex] = windows.UTF16PtrToString(a.FriendlyName)
		if a.Ipv6IfIndex != 0 && a.Ipv6IfIndex != a.IfIndex {
			names[a.Ipv6IfIndex] = names[a.IfIndex]
		}
	})
	return names, err
}

// eachAdapter calls fn for each adapter GetAdaptersAddresses lists.
func eachAdapter(fn func(*windows.IpAdapterAddresses)) error {
	size := uint32(15 << 10)
	for range 3 {
		buf := make([]byte, size)
		first := (*windows.IpAdapterAddresses)(unsafe.Pointer(&buf[0]))
		err := windows.GetAdaptersAddresses(windows.AF_UNSPEC, windows.GAA_FLAG_SKIP_ANYCAST|windows.GAA_FLAG_SKIP_MULTICAST|windows.GAA_FLAG_SKIP_DNS_SERVER, 0, first, &size)
		if errors.Is(err, windows.ERROR_BUFFER_OVERFLOW) {
			continue
		}
		if err != nil {
			return fmt.Errorf("GetAdaptersAddresses: %w", err)
		}
		for a := first; a != nil; a = a.Next {
			fn(a)
		}
		return nil
	}
	return errors.New("GetAdaptersAddresses: the adapter list keeps growing")
}
