package netstate

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"strings"
	"testing"
)

// TestIphlpapiReads: the calls work on this host and give named links,
// addresses on them, and neighbors without multicast rows.
func TestIphlpapiReads(t *testing.T) {
	links, addrs, err := ipLinks()
	if err != nil {
		t.Fatal(err)
	}
	if len(links) == 0 {
		t.Fatal("no links")
	}
	names := map[string]bool{}
	for _, l := range links {
		if l.Name == "" || l.Index == 0 {
			t.Errorf("link without name or index: %+v", l)
		}
		names[l.Name] = true
	}
	for _, a := range addrs {
		if !names[a.Iface] || !a.Prefix.IsValid() {
			t.Errorf("address %+v: bad prefix or unknown link", a)
		}
	}
	ns, err := ipNeighbors()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		if n.IP.IsMulticast() || n.State == "" {
			t.Errorf("neighbor %+v: multicast or without state", n)
		}
	}
	if iface, gw, err := ipDefaultRoute(); err != nil && !errors.Is(err, ErrNoDefaultRoute) {
		t.Errorf("default route: %v", err)
	} else {
		t.Logf("default route: %q via %v (%v)", iface, gw, err)
	}
	t.Logf("%d links, %d addresses, %d neighbors", len(links), len(addrs), len(ns))
}

// Environment of TestIphlpapiWineLive, set by TestIphlpapiWine
// (iphlpapi_wine_linux_test.go), which runs this binary under Wine inside a
// network namespace whose ARP entry for the peer it prepared.
const (
	envIphlpLive    = "ARPBOX_IPHLP_LIVE" // the peer's expected state: "REACHABLE" or "FAILED"
	envIphlpIface   = "ARPBOX_IPHLP_IFACE"
	envIphlpMAC     = "ARPBOX_IPHLP_MAC"
	envIphlpPeer    = "ARPBOX_IPHLP_PEER"
	envIphlpPeerMAC = "ARPBOX_IPHLP_PEER_MAC"
)

func TestIphlpapiWineLive(t *testing.T) {
	want := os.Getenv(envIphlpLive)
	if want == "" {
		t.Skip("skipping: run by TestIphlpapiWine on Linux (scripts/test-windows.sh), under Wine in a network namespace")
	}
	iface, peer := os.Getenv(envIphlpIface), netip.MustParseAddr(os.Getenv(envIphlpPeer))
	ns, err := ipNeighbors()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("neighbors: %+v", ns)
	var got *Neighbor
	for i, n := range ns {
		if n.IP == peer {
			got = &ns[i]
		}
	}
	if got == nil {
		t.Fatalf("no neighbor entry for %v", peer)
	}
	if got.State != want || got.Iface != iface {
		t.Errorf("peer entry %+v: want state %s on %s", *got, want, iface)
	}
	switch want {
	case StateReachable:
		if got.MAC.String() != os.Getenv(envIphlpPeerMAC) {
			t.Errorf("peer MAC %v, want %s", got.MAC, os.Getenv(envIphlpPeerMAC))
		}
	case StateFailed:
		if got.MAC != nil {
			t.Errorf("failed entry with MAC %v", got.MAC)
		}
	}

	links, _, err := ipLinks()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("links: %+v", links)
	var link *Link
	for i, l := range links {
		if l.Name == iface {
			link = &links[i]
		}
	}
	if link == nil {
		t.Fatalf("no link %q", iface)
	}
	if link.OperState != "UP" || link.MTU != 1500 || link.MAC.String() != os.Getenv(envIphlpMAC) {
		t.Errorf("link %+v: want UP, MTU 1500, MAC %s", *link, os.Getenv(envIphlpMAC))
	}

	dIface, gw, err := ipDefaultRoute()
	if err != nil {
		t.Fatal(err)
	}
	if dIface != iface || gw != peer {
		t.Errorf("default route %q via %v, want %q via %v", dIface, gw, iface, peer)
	}
	checkPublicAPI(t, iface, peer, want)
}

// checkPublicAPI: Neighbors, Capture and DefaultRoute, over the Windows
// system, see what the binding sees.
func checkPublicAPI(t *testing.T, iface string, peer netip.Addr, want string) {
	ctx := context.Background()
	findPeer := func(what string, ns []Neighbor) {
		t.Helper()
		for _, n := range ns {
			if n.IP == peer {
				if n.State != want || n.Iface != iface {
					t.Errorf("%s: peer entry %+v, want %s on %s", what, n, want, iface)
				}
				return
			}
		}
		t.Errorf("%s: no entry for %v in %+v", what, peer, ns)
	}
	ns, err := Neighbors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	findPeer("Neighbors", ns)

	st, err := Capture(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Errors) != 0 {
		t.Errorf("Capture errors: %q", st.Errors)
	}
	findPeer("Capture", st.Neighbors)
	var text strings.Builder
	if err := st.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	t.Logf("Capture:\n%s", text.String())
	if !strings.HasPrefix(st.Kernel, "Windows ") || st.Hostname == "" {
		t.Errorf("Capture: kernel %q, hostname %q", st.Kernel, st.Hostname)
	}
	var haveLink, haveAddr, haveDefault bool
	for _, l := range st.Links {
		haveLink = haveLink || (l.Name == iface && l.OperState == "UP")
	}
	for _, a := range st.Addrs {
		haveAddr = haveAddr || (a.Iface == iface && a.Family == "inet" && a.Prefix.Contains(peer))
	}
	for _, r := range st.Routes {
		haveDefault = haveDefault || (r.Default && r.Gateway == peer && r.Iface == iface)
	}
	if !haveLink || !haveAddr || !haveDefault {
		t.Errorf("Capture: link %s up %v, an IPv4 address on the peer's subnet %v, default route via %v %v",
			iface, haveLink, haveAddr, peer, haveDefault)
	}

	dIface, gw, err := DefaultRoute(ctx)
	if err != nil || dIface != iface || gw != peer {
		t.Errorf("DefaultRoute = %q, %v, %v; want %q via %v", dIface, gw, err, iface, peer)
	}
}
