package netstate

// Decoding of the tables Windows' iphlpapi.dll returns, from bytes, so that
// it is tested on every platform (iphlpapi_windows.go does the calls).
//
// A MIB_*_TABLE2 is NumEntries (uint32), padding to the rows' 8-byte
// alignment, then the rows. Layouts on 64-bit Windows, offsets in bytes:
//
//	SOCKADDR_INET (28): family u16 at 0 (2 AF_INET, 23 AF_INET6);
//	    AF_INET:  port u16 at 2, address [4] at 4
//	    AF_INET6: port u16 at 2, flowinfo u32 at 4, address [16] at 8, scope u32 at 24
//	MIB_IPNET_ROW2 (88): Address SOCKADDR_INET at 0, InterfaceIndex u32 at 28,
//	    InterfaceLuid u64 at 32, PhysicalAddress [32] at 40,
//	    PhysicalAddressLength u32 at 72, State u32 (NL_NEIGHBOR_STATE) at 76,
//	    Flags u8 at 80 (IsRouter 0x1, IsUnreachable 0x2), ReachabilityTime u32 at 84
//	MIB_IPFORWARD_ROW2 (104): InterfaceLuid u64 at 0, InterfaceIndex u32 at 8,
//	    DestinationPrefix {SOCKADDR_INET at 12, PrefixLength u8 at 40},
//	    NextHop SOCKADDR_INET at 44, SitePrefixLength u8 at 72,
//	    ValidLifetime u32 at 76, PreferredLifetime u32 at 80, Metric u32 at 84,
//	    Protocol u32 at 88, Loopback, AutoconfigureAddress, Publish, Immortal u8
//	    at 92..95, Age u32 at 96, Origin u32 at 100

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
)

const (
	mibTableHeader    = 8
	ipnetRow2Size     = 88
	ipforwardRow2Size = 104
	sockaddrInetSize  = 28

	winAFInet  = 2
	winAFInet6 = 23

	ipnetFlagRouter      = 0x1
	ipnetFlagUnreachable = 0x2
)

// NL_NEIGHBOR_STATE values.
const (
	nlnsUnreachable = iota
	nlnsIncomplete
	nlnsProbe
	nlnsDelay
	nlnsStale
	nlnsReachable
	nlnsPermanent
)

// ipnetRow is one decoded MIB_IPNET_ROW2.
type ipnetRow struct {
	IP      netip.Addr
	IfIndex uint32
	MAC     net.HardwareAddr // nil when the row has none
	State   uint32           // NL_NEIGHBOR_STATE
	Flags   uint8
}

// ipforwardRow is one decoded MIB_IPFORWARD_ROW2.
type ipforwardRow struct {
	IfIndex uint32
	Dst     netip.Prefix
	NextHop netip.Addr // unspecified (0.0.0.0, ::) for an on-link route
	Metric  uint32
}

// tableRows splits a MIB_*_TABLE2 into its rows, checking that the count
// fits the bytes.
func tableRows(b []byte, rowSize int, what string) ([][]byte, error) {
	if len(b) < mibTableHeader {
		return nil, fmt.Errorf("%s: %d bytes, shorter than the table header", what, len(b))
	}
	n := binary.LittleEndian.Uint32(b)
	if uint64(n) > uint64(len(b)-mibTableHeader)/uint64(rowSize) {
		return nil, fmt.Errorf("%s: %d rows of %d bytes do not fit in %d bytes", what, n, rowSize, len(b))
	}
	rows := make([][]byte, n)
	for i := range rows {
		off := mibTableHeader + i*rowSize
		rows[i] = b[off : off+rowSize]
	}
	return rows, nil
}

// sockaddrInet decodes a SOCKADDR_INET; ok is false for another family.
func sockaddrInet(b []byte) (netip.Addr, bool) {
	switch binary.LittleEndian.Uint16(b) {
	case winAFInet:
		return netip.AddrFrom4([4]byte(b[4:8])), true
	case winAFInet6:
		return netip.AddrFrom16([16]byte(b[8:24])), true
	}
	return netip.Addr{}, false
}

// parseIPNetTable decodes a MIB_IPNET_TABLE2. Rows of an unknown address
// family are skipped.
func parseIPNetTable(b []byte) ([]ipnetRow, error) {
	rows, err := tableRows(b, ipnetRow2Size, "MIB_IPNET_TABLE2")
	if err != nil {
		return nil, err
	}
	out := make([]ipnetRow, 0, len(rows))
	for _, r := range rows {
		ip, ok := sockaddrInet(r)
		if !ok {
			continue
		}
		row := ipnetRow{
			IP:      ip,
			IfIndex: binary.LittleEndian.Uint32(r[28:]),
			State:   binary.LittleEndian.Uint32(r[76:]),
			Flags:   r[80],
		}
		if n := binary.LittleEndian.Uint32(r[72:]); n > 0 {
			mac := r[40 : 40+min(n, 32)]
			for _, c := range mac {
				if c != 0 {
					row.MAC = net.HardwareAddr(append([]byte(nil), mac...))
					break
				}
			}
		}
		out = append(out, row)
	}
	return out, nil
}

// parseIPForwardTable decodes a MIB_IPFORWARD_TABLE2.
func parseIPForwardTable(b []byte) ([]ipforwardRow, error) {
	rows, err := tableRows(b, ipforwardRow2Size, "MIB_IPFORWARD_TABLE2")
	if err != nil {
		return nil, err
	}
	out := make([]ipforwardRow, 0, len(rows))
	for _, r := range rows {
		dst, ok1 := sockaddrInet(r[12:])
		hop, ok2 := sockaddrInet(r[44:])
		if !ok1 || !ok2 {
			continue
		}
		p, err := dst.Prefix(int(r[40]))
		if err != nil {
			continue // a prefix length beyond the address: not a route
		}
		out = append(out, ipforwardRow{
			IfIndex: binary.LittleEndian.Uint32(r[8:]),
			Dst:     p,
			NextHop: hop,
			Metric:  binary.LittleEndian.Uint32(r[84:]),
		})
	}
	return out, nil
}

// neighborState maps a row's NL_NEIGHBOR_STATE and flags to the word `ip
// neigh` prints for the same condition on Linux. An unreachable flag, or
// no MAC in a state that should have one, is FAILED: Wine builds the table
// from /proc/net/arp, where Linux's INCOMPLETE and FAILED entries show as
// STALE with IsUnreachable and an all-zero MAC.
func neighborState(r ipnetRow) string {
	if r.Flags&ipnetFlagUnreachable != 0 || r.State == nlnsUnreachable {
		return StateFailed
	}
	switch r.State {
	case nlnsIncomplete:
		return StateIncomplete // no MAC yet, as on Linux
	case nlnsProbe, nlnsDelay, nlnsStale, nlnsReachable:
		if r.MAC == nil {
			return StateFailed
		}
		return [...]string{nlnsProbe: StateProbe, nlnsDelay: StateDelay, nlnsStale: StateStale, nlnsReachable: StateReachable}[r.State]
	case nlnsPermanent:
		return StatePermanent
	}
	return StateNone
}

// neighborFromRow turns a row into a Neighbor named by ifName, reporting
// false for rows Linux's table would not have: multicast and broadcast
// addresses (Windows lists them as PERMANENT; Wine adds 224.0.0.22 and
// 239.255.255.250 without a MAC on each interface) and the broadcast MAC.
func neighborFromRow(r ipnetRow, ifName func(uint32) string) (Neighbor, bool) {
	if r.IP.IsMulticast() || r.IP == netip.AddrFrom4([4]byte{255, 255, 255, 255}) || r.IP.IsUnspecified() {
		return Neighbor{}, false
	}
	if r.MAC.String() == "ff:ff:ff:ff:ff:ff" {
		return Neighbor{}, false
	}
	n := Neighbor{IP: r.IP, MAC: r.MAC, Iface: ifName(r.IfIndex), State: neighborState(r), Router: r.Flags&ipnetFlagRouter != 0}
	if n.State == StateFailed || n.State == StateIncomplete {
		n.MAC = nil // as Linux reports them
	}
	return n, true
}

// defaultRouteRow picks the default route with the lowest metric among
// rows of one family (ties: the first listed); ok is false without one.
// Windows adds the interface metric to the route metric when it chooses;
// two default routes with equal route metrics on interfaces of different
// metrics may pick differently here.
func defaultRouteRow(rows []ipforwardRow) (ipforwardRow, bool) {
	var best ipforwardRow
	found := false
	for _, r := range rows {
		if r.Dst.Bits() != 0 || !r.NextHop.IsValid() || r.NextHop.IsUnspecified() {
			continue
		}
		if !found || r.Metric < best.Metric {
			best, found = r, true
		}
	}
	return best, found
}

// operStateWord maps IF_OPER_STATUS (GetAdaptersAddresses, GetIfTable2) to
// the word `ip link` prints.
func operStateWord(s uint32) string {
	switch s {
	case 1:
		return "UP"
	case 2:
		return "DOWN"
	case 3:
		return "TESTING"
	case 5:
		return "DORMANT"
	case 6:
		return "NOTPRESENT"
	case 7:
		return "LOWERLAYERDOWN"
	}
	return "UNKNOWN"
}
