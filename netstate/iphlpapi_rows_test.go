package netstate

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// sockaddr encodes a SOCKADDR_INET (28 bytes) into b.
func sockaddr(b []byte, ip netip.Addr) {
	if ip.Is4() {
		binary.LittleEndian.PutUint16(b, winAFInet)
		a := ip.As4()
		copy(b[4:], a[:])
		return
	}
	binary.LittleEndian.PutUint16(b, winAFInet6)
	a := ip.As16()
	copy(b[8:], a[:])
}

// ipnetFixture encodes a MIB_IPNET_TABLE2 as Windows lays it out.
type ipnetFixture struct {
	ip    string
	index uint32
	mac   []byte // PhysicalAddressLength = len(mac)
	state uint32
	flags uint8
}

func ipnetTable(rows ...ipnetFixture) []byte {
	b := make([]byte, mibTableHeader+len(rows)*ipnetRow2Size)
	binary.LittleEndian.PutUint32(b, uint32(len(rows)))
	for i, r := range rows {
		row := b[mibTableHeader+i*ipnetRow2Size:][:ipnetRow2Size]
		sockaddr(row, netip.MustParseAddr(r.ip))
		binary.LittleEndian.PutUint32(row[28:], r.index)
		binary.LittleEndian.PutUint64(row[32:], 0x6000000000000|uint64(r.index)) // LUID, ignored
		copy(row[40:72], r.mac)
		binary.LittleEndian.PutUint32(row[72:], uint32(len(r.mac)))
		binary.LittleEndian.PutUint32(row[76:], r.state)
		row[80] = r.flags
		binary.LittleEndian.PutUint32(row[84:], 30000)
	}
	return b
}

var equateAddr = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

var (
	macPeer = []byte{0x02, 0xab, 0, 0, 1, 2}
	macZero = make([]byte, 6)
)

func TestNeighborsFromIPNetTable(t *testing.T) {
	names := map[uint32]string{2: "Ethernet", 3: "vb1"}
	ifName := func(i uint32) string { return names[i] }
	mac := func(b []byte) net.HardwareAddr { return net.HardwareAddr(b) }
	tests := []struct {
		name string
		row  ipnetFixture
		want *Neighbor // nil: the row is ignored
	}{
		{"reachable", ipnetFixture{"10.0.0.1", 2, macPeer, nlnsReachable, 0},
			&Neighbor{IP: netip.MustParseAddr("10.0.0.1"), MAC: mac(macPeer), Iface: "Ethernet", State: StateReachable}},
		{"stale router", ipnetFixture{"fe80::1", 3, macPeer, nlnsStale, ipnetFlagRouter},
			&Neighbor{IP: netip.MustParseAddr("fe80::1"), MAC: mac(macPeer), Iface: "vb1", State: StateStale, Router: true}},
		{"delay", ipnetFixture{"10.0.0.2", 2, macPeer, nlnsDelay, 0},
			&Neighbor{IP: netip.MustParseAddr("10.0.0.2"), MAC: mac(macPeer), Iface: "Ethernet", State: StateDelay}},
		{"probe", ipnetFixture{"10.0.0.3", 2, macPeer, nlnsProbe, 0},
			&Neighbor{IP: netip.MustParseAddr("10.0.0.3"), MAC: mac(macPeer), Iface: "Ethernet", State: StateProbe}},
		{"permanent", ipnetFixture{"10.0.0.4", 2, macPeer, nlnsPermanent, 0},
			&Neighbor{IP: netip.MustParseAddr("10.0.0.4"), MAC: mac(macPeer), Iface: "Ethernet", State: StatePermanent}},
		{"windows incomplete", ipnetFixture{"10.0.0.5", 2, macZero, nlnsIncomplete, 0},
			&Neighbor{IP: netip.MustParseAddr("10.0.0.5"), Iface: "Ethernet", State: StateIncomplete}},
		{"windows unreachable", ipnetFixture{"10.0.0.6", 2, macZero, nlnsUnreachable, 0},
			&Neighbor{IP: netip.MustParseAddr("10.0.0.6"), Iface: "Ethernet", State: StateFailed}},
		// Wine: Linux FAILED/INCOMPLETE come as STALE, IsUnreachable, zero MAC.
		{"wine failed", ipnetFixture{"10.0.0.7", 2, macZero, nlnsStale, ipnetFlagUnreachable},
			&Neighbor{IP: netip.MustParseAddr("10.0.0.7"), Iface: "Ethernet", State: StateFailed}},
		{"zero MAC without the flag", ipnetFixture{"10.0.0.8", 2, macZero, nlnsReachable, 0},
			&Neighbor{IP: netip.MustParseAddr("10.0.0.8"), Iface: "Ethernet", State: StateFailed}},
		{"no MAC length", ipnetFixture{"10.0.0.9", 2, nil, nlnsStale, 0},
			&Neighbor{IP: netip.MustParseAddr("10.0.0.9"), Iface: "Ethernet", State: StateFailed}},
		{"unreachable flag with a MAC", ipnetFixture{"10.0.0.10", 2, macPeer, nlnsReachable, ipnetFlagUnreachable},
			&Neighbor{IP: netip.MustParseAddr("10.0.0.10"), Iface: "Ethernet", State: StateFailed}},
		{"unknown state", ipnetFixture{"10.0.0.11", 2, macPeer, 9, 0},
			&Neighbor{IP: netip.MustParseAddr("10.0.0.11"), MAC: mac(macPeer), Iface: "Ethernet", State: StateNone}},
		{"unknown interface", ipnetFixture{"10.0.0.12", 9, macPeer, nlnsReachable, 0},
			&Neighbor{IP: netip.MustParseAddr("10.0.0.12"), MAC: mac(macPeer), State: StateReachable}},
		// Wine's fake multicast rows, and Windows' multicast and broadcast ones.
		{"wine multicast", ipnetFixture{"224.0.0.22", 2, nil, nlnsPermanent, 0}, nil},
		{"wine ssdp", ipnetFixture{"239.255.255.250", 2, nil, nlnsPermanent, 0}, nil},
		{"windows multicast", ipnetFixture{"224.0.0.251", 2, []byte{1, 0, 0x5e, 0, 0, 0xfb}, nlnsPermanent, 0}, nil},
		{"broadcast", ipnetFixture{"255.255.255.255", 2, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, nlnsPermanent, 0}, nil},
		{"subnet broadcast", ipnetFixture{"10.0.0.255", 2, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, nlnsPermanent, 0}, nil},
		{"ipv6 multicast", ipnetFixture{"ff02::1", 3, []byte{0x33, 0x33, 0, 0, 0, 1}, nlnsPermanent, 0}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := parseIPNetTable(ipnetTable(tt.row))
			if err != nil || len(rows) != 1 {
				t.Fatalf("parse = %v, %v; want one row", rows, err)
			}
			n, ok := neighborFromRow(rows[0], ifName)
			if tt.want == nil {
				if ok {
					t.Errorf("row kept as %+v, want it ignored", n)
				}
				return
			}
			if !ok {
				t.Fatalf("row ignored, want %+v", *tt.want)
			}
			if diff := cmp.Diff(*tt.want, n, equateAddr); diff != "" {
				t.Errorf("neighbor (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseIPNetTableRows(t *testing.T) {
	b := ipnetTable(
		ipnetFixture{"10.0.0.1", 2, macPeer, nlnsReachable, 0},
		ipnetFixture{"fe80::2", 3, macPeer[:4], nlnsStale, ipnetFlagRouter},
	)
	// A row of an unknown family (AF_UNSPEC) is skipped.
	b = append(b, make([]byte, ipnetRow2Size)...)
	binary.LittleEndian.PutUint32(b, 3)
	got, err := parseIPNetTable(b)
	if err != nil {
		t.Fatal(err)
	}
	want := []ipnetRow{
		{IP: netip.MustParseAddr("10.0.0.1"), IfIndex: 2, MAC: macPeer, State: nlnsReachable},
		{IP: netip.MustParseAddr("fe80::2"), IfIndex: 3, MAC: macPeer[:4], State: nlnsStale, Flags: ipnetFlagRouter},
	}
	if diff := cmp.Diff(want, got, equateAddr); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

func TestTableErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "MIB_IPNET_TABLE2: 0 bytes, shorter than the table header"},
		{"count too big", ipnetTable(ipnetFixture{"10.0.0.1", 2, macPeer, 5, 0})[:mibTableHeader+87], "MIB_IPNET_TABLE2: 1 rows of 88 bytes do not fit in 95 bytes"},
		{"huge count", []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}, "MIB_IPNET_TABLE2: 4294967295 rows of 88 bytes do not fit in 8 bytes"},
	} {
		if _, err := parseIPNetTable(tt.b); err == nil || err.Error() != tt.want {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
	if rows, err := parseIPNetTable(make([]byte, mibTableHeader)); err != nil || len(rows) != 0 {
		t.Errorf("empty table = %v, %v", rows, err)
	}
}

// forwardRow encodes one MIB_IPFORWARD_ROW2.
func forwardRow(b []byte, index uint32, dst string, hop string, metric uint32) {
	binary.LittleEndian.PutUint32(b[8:], index)
	p := netip.MustParsePrefix(dst)
	sockaddr(b[12:], p.Addr())
	b[40] = byte(p.Bits())
	sockaddr(b[44:], netip.MustParseAddr(hop))
	binary.LittleEndian.PutUint32(b[84:], metric)
	binary.LittleEndian.PutUint32(b[88:], 3) // MIB_IPPROTO_NETMGMT
}

func forwardTable(rows ...func([]byte)) []byte {
	b := make([]byte, mibTableHeader+len(rows)*ipforwardRow2Size)
	binary.LittleEndian.PutUint32(b, uint32(len(rows)))
	for i, f := range rows {
		f(b[mibTableHeader+i*ipforwardRow2Size:][:ipforwardRow2Size])
	}
	return b
}

func TestDefaultRouteFromForwardTable(t *testing.T) {
	b := forwardTable(
		func(r []byte) { forwardRow(r, 2, "10.0.0.0/24", "0.0.0.0", 256) },
		func(r []byte) { forwardRow(r, 3, "0.0.0.0/0", "192.168.7.1", 50) },
		func(r []byte) { forwardRow(r, 2, "0.0.0.0/0", "10.0.0.1", 25) },
		func(r []byte) { forwardRow(r, 4, "0.0.0.0/0", "0.0.0.0", 1) },               // on-link default: no gateway
		func(r []byte) { forwardRow(r, 2, "127.0.0.0/8", "0.0.0.0", 1); r[40] = 33 }, // bad length: skipped
	)
	rows, err := parseIPForwardTable(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 {
		t.Fatalf("rows = %+v, want 4 (the bad prefix skipped)", rows)
	}
	got, ok := defaultRouteRow(rows)
	want := ipforwardRow{IfIndex: 2, Dst: netip.MustParsePrefix("0.0.0.0/0"), NextHop: netip.MustParseAddr("10.0.0.1"), Metric: 25}
	if !ok || got != want {
		t.Errorf("default route = %+v, %v; want %+v", got, ok, want)
	}
	if _, ok := defaultRouteRow(rows[:1]); ok {
		t.Error("a table without a default route gave one")
	}
}

func TestOperStateWord(t *testing.T) {
	for s, want := range map[uint32]string{1: "UP", 2: "DOWN", 3: "TESTING", 4: "UNKNOWN", 5: "DORMANT", 6: "NOTPRESENT", 7: "LOWERLAYERDOWN", 99: "UNKNOWN"} {
		if got := operStateWord(s); got != want {
			t.Errorf("operStateWord(%d) = %q, want %q", s, got, want)
		}
	}
}

// FuzzParseTables: no input panics, and a table that parses yields no more
// rows than its count says, each of a known address family.
func FuzzParseTables(f *testing.F) {
	f.Add(ipnetTable(ipnetFixture{"10.0.0.1", 2, macPeer, 5, 0}, ipnetFixture{"fe80::1", 3, macZero, 4, 2}))
	f.Add(forwardTable(func(r []byte) { forwardRow(r, 2, "0.0.0.0/0", "10.0.0.1", 25) }))
	f.Fuzz(func(t *testing.T, b []byte) {
		if rows, err := parseIPNetTable(b); err == nil {
			if uint32(len(rows)) > binary.LittleEndian.Uint32(b) {
				t.Fatalf("%d rows from a count of %d", len(rows), binary.LittleEndian.Uint32(b))
			}
			for _, r := range rows {
				if !r.IP.IsValid() {
					t.Fatalf("row without an address: %+v", r)
				}
				neighborFromRow(r, func(uint32) string { return "" })
			}
		}
		if rows, err := parseIPForwardTable(b); err == nil {
			if uint32(len(rows)) > binary.LittleEndian.Uint32(b) {
				t.Fatalf("%d rows from a count of %d", len(rows), binary.LittleEndian.Uint32(b))
			}
			defaultRouteRow(rows)
		}
	})
}
