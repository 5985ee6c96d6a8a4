package netstate

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/arpbox/arpbox/internal/nstest"
	"github.com/google/go-cmp/cmp"
)

func captureIn(t *testing.T, h *nstest.Host) *State {
	t.Helper()
	var s *State
	err := h.Do(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var err error
		s, err = Capture(ctx)
		return err
	})
	if err != nil {
		t.Fatalf("Capture in %s: %v", h.NS, err)
	}
	return s
}

func TestCaptureNamespace(t *testing.T) {
	nstest.RequireRoot(t, "ping")
	a, la, _, lb := pair(t, 3)
	a.MustRun("ip", "link", "set", la.Name, "mtu", "1400")
	a.MustRun("ip", "addr", "add", "10.205.3.10/24", "dev", la.Name)
	a.MustRun("ip", "route", "add", "default", "via", "10.205.3.2", "dev", la.Name)
	a.MustRun("ip", "route", "add", "10.205.99.0/24", "via", "10.205.3.2", "metric", "7")
	// A bridge with one member, for the master/kind columns.
	a.MustRun("ip", "link", "add", "br0", "type", "bridge")
	a.MustRun("ip", "link", "add", "brm0", "type", "veth", "peer", "name", "brm1")
	a.MustRun("ip", "link", "set", "brm0", "master", "br0")
	a.MustRun("ping", "-c", "1", "-W", "2", lb.Addr().String())

	s := captureIn(t, a)
	if len(s.Errors) != 0 {
		t.Errorf("Errors = %q, want none", s.Errors)
	}
	if s.Hostname == "" || !strings.HasPrefix(s.Kernel, "Linux ") || time.Since(s.Time) > time.Minute {
		t.Errorf("header: hostname %q kernel %q time %v", s.Hostname, s.Kernel, s.Time)
	}

	var got *Link
	for i := range s.Links {
		if s.Links[i].Name == la.Name {
			got = &s.Links[i]
		}
	}
	if got == nil {
		t.Fatalf("link %s missing from %+v", la.Name, s.Links)
	}
	want := Link{
		Index: got.Index, Name: la.Name, Kind: "veth", OperState: "UP", AdminUp: true, Carrier: true,
		Flags: []string{"BROADCAST", "MULTICAST", "UP", "LOWER_UP"}, MAC: la.MAC, MTU: 1400,
		// veth reports a fixed 10Gb/s full duplex, autoneg off.
		SpeedMbps: 10000, Duplex: "full", Autoneg: "off", Port: "twisted pair",
	}
	if d := cmp.Diff(want, *got); d != "" {
		t.Errorf("link %s (-want +got):\n%s", la.Name, d)
	}

	kinds := map[string]string{}
	masters := map[string]string{}
	for _, l := range s.Links {
		kinds[l.Name], masters[l.Name] = l.Kind, l.Master
	}
	if kinds["br0"] != "bridge" || masters["brm0"] != "br0" || kinds["brm0"] != "veth" {
		t.Errorf("bridge: kind br0 %q, brm0 %q master %q; want bridge, veth, br0", kinds["br0"], kinds["brm0"], masters["brm0"])
	}

	var addrs []Addr
	for _, x := range s.Addrs {
		if x.Iface == la.Name && x.Family == "inet" {
			addrs = append(addrs, x)
		}
	}
	wantAddrs := []Addr{
		{Iface: la.Name, Family: "inet", Prefix: netip.MustParsePrefix("10.205.3.1/24"), Scope: "global", Label: la.Name},
		{Iface: la.Name, Family: "inet", Prefix: netip.MustParsePrefix("10.205.3.10/24"), Scope: "global", Label: la.Name, Flags: []string{"secondary"}},
	}
	if d := cmp.Diff(wantAddrs, addrs, netipCmp); d != "" {
		t.Errorf("IPv4 addresses of %s (-want +got):\n%s", la.Name, d)
	}

	var routes []Route
	for _, r := range s.Routes {
		if r.Dst.Addr().Is4() {
			routes = append(routes, r)
		}
	}
	wantRoutes := []Route{
		{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("10.205.3.2"), Iface: la.Name, Protocol: "boot", Default: true},
		{Dst: netip.MustParsePrefix("10.205.3.0/24"), Iface: la.Name, Src: netip.MustParseAddr("10.205.3.1"), Protocol: "kernel", Scope: "link"},
		{Dst: netip.MustParsePrefix("10.205.99.0/24"), Gateway: netip.MustParseAddr("10.205.3.2"), Iface: la.Name, Protocol: "boot", Metric: 7},
	}
	if d := cmp.Diff(wantRoutes, routes, netipCmp); d != "" {
		t.Errorf("IPv4 routes (-want +got):\n%s", d)
	}

	n, ok := findNeighbor(s.Neighbors, la.Name, lb.Addr())
	wantN := Neighbor{IP: lb.Addr(), MAC: lb.MAC, Iface: la.Name, State: StateReachable}
	if d := cmp.Diff(wantN, n, netipCmp); !ok || d != "" {
		t.Errorf("neighbor %s (found %v) (-want +got):\n%s", lb.Addr(), ok, d)
	}

	var text bytes.Buffer
	if err := s.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"Default route: default via 10.205.3.2 dev " + la.Name + " proto boot\n",
		"10.205.3.2 dev " + la.Name + " lladdr " + lb.MAC.String() + " REACHABLE\n",
		"10.205.3.0/24 dev " + la.Name + " proto kernel scope link src 10.205.3.1\n",
		"10.205.99.0/24 via 10.205.3.2 dev " + la.Name + " proto boot metric 7\n",
		"Neighbors: ",
	} {
		if !strings.Contains(text.String(), line) {
			t.Errorf("text output lacks %q:\n%s", line, text.String())
		}
	}
	if !hasLine(text.String(), la.Name, "inet", "10.205.3.10/24", "scope global secondary") {
		t.Errorf("text output lacks the secondary address line:\n%s", text.String())
	}
	var linkLine string
	for _, l := range strings.Split(text.String(), "\n") {
		if strings.HasPrefix(l, la.Name+" ") {
			linkLine = l // the links table comes before the addresses
			break
		}
	}
	for _, f := range []string{"UP", la.MAC.String(), "1400", "10000Mb/s", "full", "veth"} {
		if !strings.Contains(linkLine, f) {
			t.Errorf("link line %q lacks %q", linkLine, f)
		}
	}

	// JSON round trip keeps everything.
	var js bytes.Buffer
	if err := s.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	back, err := ReadStateJSON(&js)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(s, back, netipCmp); d != "" {
		t.Errorf("JSON round trip (-want +got):\n%s", d)
	}
}

func TestDefaultRoute(t *testing.T) {
	nstest.RequireRoot(t)
	a, la, _, _ := pair(t, 4)
	var iface string
	var gw netip.Addr
	var err error
	do := func() {
		t.Helper()
		if e := a.Do(func() error {
			iface, gw, err = DefaultRoute(context.Background())
			return nil
		}); e != nil {
			t.Fatal(e)
		}
	}
	do()
	if !errors.Is(err, ErrNoDefaultRoute) {
		t.Errorf("DefaultRoute without one: %q, %v, err %v; want ErrNoDefaultRoute", iface, gw, err)
	}
	a.MustRun("ip", "route", "add", "default", "via", "10.205.4.2", "metric", "50")
	do()
	if err != nil || iface != la.Name || gw != netip.MustParseAddr("10.205.4.2") {
		t.Errorf("DefaultRoute = %q, %v, %v; want %s, 10.205.4.2, nil", iface, gw, err, la.Name)
	}
}

// hasLine reports whether some line of text contains all parts, in order.
func hasLine(text string, parts ...string) bool {
lines:
	for _, l := range strings.Split(text, "\n") {
		for _, p := range parts {
			i := strings.Index(l, p)
			if i < 0 {
				continue lines
			}
			l = l[i+len(p):]
		}
		return true
	}
	return false
}
