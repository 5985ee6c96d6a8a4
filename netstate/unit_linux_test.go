package netstate

import (
	"net"
	"net/netip"
	"testing"
	"time"

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

func TestLinkDiff(t *testing.T) {
	up := linkSnap{name: "eth1", oper: "UP", up: true, carrier: true, mtu: 1500, mac: "00:15:5d:0a:3e:02"}
	with := func(f func(*linkSnap)) linkSnap { s := up; f(&s); return s }
	for _, tc := range []struct {
		name  string
		prev  linkSnap
		known bool
		cur   linkSnap
		want  []string
	}{
		{"new", linkSnap{}, false, up, []string{"new"}},
		{"same", up, true, up, nil},
		{"carrier lost", up, true, with(func(s *linkSnap) { s.carrier = false; s.oper = "LOWERLAYERDOWN" }),
			[]string{"carrier lost", "oper UP -> LOWERLAYERDOWN"}},
		{"admin down", up, true, with(func(s *linkSnap) { s.up, s.carrier, s.oper = false, false, "DOWN" }),
			[]string{"admin down", "carrier lost", "oper UP -> DOWN"}},
		{"mtu mac master rename", up, true, with(func(s *linkSnap) {
			s.mtu, s.mac, s.master, s.name = 9000, "02:00:00:00:00:01", 7, "wan0"
		}), []string{"renamed from eth1", "mtu 1500 -> 9000", "mac 00:15:5d:0a:3e:02 -> 02:00:00:00:00:01", "master if0 -> if7"}},
	} {
		if d := cmp.Diff(tc.want, linkDiff(tc.prev, tc.cur, tc.known)); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, d)
		}
	}
}

func TestSpeedTracker(t *testing.T) {
	modes := map[int]linkMode{3: {speed: 1000, duplex: "full", autoneg: "on"}}
	sp := &speedTracker{last: map[int]linkMode{},
		read: func(index int, name string) (linkMode, error) { return modes[index], nil }}
	if got := sp.hook(3, "eth1"); got != "" {
		t.Errorf("first read (baseline) = %q, want empty", got)
	}
	if got := sp.hook(3, "eth1"); got != "" {
		t.Errorf("unchanged = %q, want empty", got)
	}
	modes[3] = linkMode{speed: 100, duplex: "half", autoneg: "on"}
	if got, want := sp.hook(3, "eth1"), "speed 1000Mb/s -> 100Mb/s, duplex full -> half"; got != want {
		t.Errorf("renegotiated = %q, want %q", got, want)
	}
	modes[3] = linkMode{duplex: "unknown", autoneg: "on"}
	if got, want := sp.hook(3, "eth1"), "speed 100Mb/s -> unknown, duplex half -> unknown"; got != want {
		t.Errorf("carrier gone = %q, want %q", got, want)
	}
	if got := (&speedTracker{}).hook(3, "eth1"); got != "" {
		t.Errorf("untracked = %q, want empty", got)
	}
}

func TestWatcherNeighborDetails(t *testing.T) {
	var got []Change
	now := time.Date(2026, 11, 26, 12, 3, 0, 0, time.UTC)
	w := &watcher{
		fn:     func(c Change) { got = append(got, c) },
		now:    func() time.Time { return now },
		neighs: map[neighKey]neighSnap{},
		links:  map[int]linkSnap{3: {name: "eth1"}},
	}
	mac1, mac2 := mustMAC("00:21:5e:4d:30:8d"), mustMAC("00:21:5e:4d:30:8e")
	n := func(state int, mac net.HardwareAddr) netlink.Neigh {
		return netlink.Neigh{LinkIndex: 3, Family: unix.AF_INET, State: state, IP: net.ParseIP("10.0.0.5"), HardwareAddr: mac}
	}
	w.neighUpdate(unix.RTM_NEWNEIGH, n(netlink.NUD_REACHABLE, mac1))
	w.neighUpdate(unix.RTM_NEWNEIGH, n(netlink.NUD_REACHABLE, mac1)) // same: not reported
	w.neighUpdate(unix.RTM_NEWNEIGH, n(netlink.NUD_STALE, mac1))
	w.neighUpdate(unix.RTM_NEWNEIGH, n(netlink.NUD_REACHABLE, mac2))
	w.neighUpdate(unix.RTM_NEWNEIGH, n(netlink.NUD_FAILED, nil))
	w.neighUpdate(unix.RTM_DELNEIGH, n(netlink.NUD_FAILED, nil))
	w.neighUpdate(unix.RTM_NEWNEIGH, n(netlink.NUD_FAILED, nil))
	w.neighUpdate(unix.RTM_NEWNEIGH, netlink.Neigh{LinkIndex: 3, Family: unix.AF_BRIDGE, HardwareAddr: mac1}) // FDB: ignored
	ip := netip.MustParseAddr("10.0.0.5")
	c := func(state string, mac net.HardwareAddr, detail string) Change {
		return Change{Time: now, Kind: KindNeighbor, Iface: "eth1", IP: ip, MAC: mac, State: state, Detail: detail}
	}
	want := []Change{
		c("REACHABLE", mac1, "new"),
		c("STALE", mac1, "REACHABLE -> STALE"),
		c("REACHABLE", mac2, "STALE -> REACHABLE, lladdr 00:21:5e:4d:30:8d -> 00:21:5e:4d:30:8e"),
		c("FAILED", nil, "REACHABLE -> FAILED"),
		c("FAILED", nil, "deleted"),
		c("FAILED", nil, "new, resolution failed"),
	}
	if d := cmp.Diff(want, got, netipCmp); d != "" {
		t.Errorf("changes (-want +got):\n%s", d)
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
