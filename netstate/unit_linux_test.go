package netstate

import (
	"net"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func TestNudWords(t *testing.T) {
	for _, tc := range []struct {
		state int
		want  string
	}{
		{0, "NONE"},
		{netlink.NUD_INCOMPLETE, "INCOMPLETE"},
		{netlink.NUD_REACHABLE, "REACHABLE"},
		{netlink.NUD_STALE, "STALE"},
		{netlink.NUD_DELAY, "DELAY"},
		{netlink.NUD_PROBE, "PROBE"},
		{netlink.NUD_FAILED, "FAILED"},
		{netlink.NUD_NOARP, "NOARP"},
		{netlink.NUD_PERMANENT, "PERMANENT"},
		{netlink.NUD_NOARP | netlink.NUD_PERMANENT, "NOARP PERMANENT"},
		{0x100, "0x100"},
	} {
		if got := nudWords(tc.state); got != tc.want {
			t.Errorf("nudWords(%#x) = %q, want %q", tc.state, got, tc.want)
		}
	}
}

func TestLinkFlags(t *testing.T) {
	for _, tc := range []struct {
		raw  uint32
		want []string
	}{
		{unix.IFF_BROADCAST | unix.IFF_MULTICAST | unix.IFF_UP | unix.IFF_LOWER_UP, []string{"BROADCAST", "MULTICAST", "UP", "LOWER_UP"}},
		{unix.IFF_BROADCAST | unix.IFF_MULTICAST | unix.IFF_UP, []string{"NO-CARRIER", "BROADCAST", "MULTICAST", "UP"}},
		{unix.IFF_BROADCAST | unix.IFF_MULTICAST, []string{"BROADCAST", "MULTICAST"}},
		{0, []string{}},
	} {
		if d := cmp.Diff(tc.want, linkFlags(tc.raw)); d != "" {
			t.Errorf("linkFlags(%#x) (-want +got):\n%s", tc.raw, d)
		}
	}
}

// Bridge FDB entries have no IP: they are not neighbors.
func TestOSNeighborOf(t *testing.T) {
	mac := mustMAC("00:21:5e:4d:30:8d")
	got, ok := osNeighborOf(netlink.Neigh{LinkIndex: 3, Family: unix.AF_INET, State: netlink.NUD_STALE | 0,
		IP: net.ParseIP("10.0.0.5"), HardwareAddr: mac, Flags: netlink.NTF_ROUTER})
	want := osNeighbor{Index: 3, IP: netip.MustParseAddr("10.0.0.5"), MAC: mac, State: StateStale, Router: true}
	if d := cmp.Diff(want, got, netipCmp); !ok || d != "" {
		t.Errorf("osNeighborOf(IPv4 entry) = %v (-want +got):\n%s", ok, d)
	}
	if _, ok := osNeighborOf(netlink.Neigh{LinkIndex: 3, Family: unix.AF_BRIDGE, HardwareAddr: mac}); ok {
		t.Error("osNeighborOf(bridge FDB entry) = true, want false")
	}
}

func TestPickDefault(t *testing.T) {
	p, a := netip.MustParsePrefix, netip.MustParseAddr
	v4def := func(gw, dev string, metric int) Route {
		r := Route{Dst: p("0.0.0.0/0"), Iface: dev, Metric: metric, Default: true}
		if gw != "" {
			r.Gateway = a(gw)
		}
		return r
	}
	for _, tc := range []struct {
		name   string
		routes []Route
		want   Route
		ok     bool
	}{
		{"none", []Route{{Dst: p("10.0.0.0/24"), Iface: "eth1"}}, Route{}, false},
		{"lowest metric", []Route{v4def("10.0.0.1", "eth1", 200), v4def("192.0.2.1", "eth0", 100)}, v4def("192.0.2.1", "eth0", 100), true},
		{"ipv4 before ipv6", []Route{{Dst: p("::/0"), Gateway: a("fe80::1"), Iface: "eth0", Default: true}, v4def("192.0.2.1", "eth0", 1000)},
			v4def("192.0.2.1", "eth0", 1000), true},
		{"ipv6 alone", []Route{{Dst: p("::/0"), Gateway: a("fe80::1"), Iface: "eth0", Default: true}},
			Route{Dst: p("::/0"), Gateway: a("fe80::1"), Iface: "eth0", Default: true}, true},
		{"gateway before device-only", []Route{v4def("", "ppp0", 0), v4def("192.0.2.1", "eth0", 100)}, v4def("192.0.2.1", "eth0", 100), true},
		{"device-only", []Route{v4def("", "ppp0", 0)}, v4def("", "ppp0", 0), true},
		{"unreachable skipped", []Route{{Dst: p("0.0.0.0/0"), Type: "unreachable", Default: true}}, Route{}, false},
		{"multipath", []Route{{Dst: p("0.0.0.0/0"), Default: true, NextHops: []NextHop{{Gateway: a("10.0.0.2"), Iface: "eth1"}, {Gateway: a("10.0.0.3"), Iface: "eth2"}}}},
			Route{Dst: p("0.0.0.0/0"), Default: true, Gateway: a("10.0.0.2"), Iface: "eth1",
				NextHops: []NextHop{{Gateway: a("10.0.0.2"), Iface: "eth1"}, {Gateway: a("10.0.0.3"), Iface: "eth2"}}}, true},
	} {
		got, ok := pickDefault(tc.routes)
		if ok != tc.ok {
			t.Errorf("%s: ok = %v, want %v", tc.name, ok, tc.ok)
		}
		if d := cmp.Diff(tc.want, got, netipCmp); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, d)
		}
	}
}
