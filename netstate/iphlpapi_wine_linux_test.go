package netstate

import (
	"strings"
	"testing"
	"time"

	"github.com/arpbox/arpbox/internal/nstest"
	"github.com/arpbox/arpbox/internal/wine/winetest"
)

// TestIphlpapiWine runs this package's Windows test binary under Wine inside
// a network namespace: after a ping the peer's ARP entry is REACHABLE in
// GetIpNetTable2, with the link (GetAdaptersAddresses) and the default route
// (GetIpForwardTable2); once the peer stops answering ARP (an nft arp rule)
// and the entry fails, it is FAILED.
func TestIphlpapiWine(t *testing.T) {
	winetest.Require(t)
	nstest.RequireRoot(t, "ping", "nft")
	exe := winetest.BuildTest(t, ".")
	a := nstest.NewHost(t, "iw")
	b := nstest.NewHost(t, "iw")
	la, lb := nstest.Veth(t, a, "10.78.0.1/24", b, "10.78.0.2/24")
	a.MustRun("ip", "route", "add", "default", "via", lb.Addr().String())
	w := winetest.Start(t, a)

	run := func(t *testing.T, state string) {
		w.RunTest(t, []string{
			"ARPBOX_IPHLP_LIVE=" + state, "ARPBOX_IPHLP_IFACE=" + la.Name, "ARPBOX_IPHLP_MAC=" + la.MAC.String(),
			"ARPBOX_IPHLP_PEER=" + lb.Addr().String(), "ARPBOX_IPHLP_PEER_MAC=" + lb.MAC.String(),
		}, exe, "^TestIphlpapiWineLive$", "TestIphlpapiWineLive", 90*time.Second)
	}

	t.Run("reachable", func(t *testing.T) {
		a.MustRun("ping", "-c", "1", "-W", "2", lb.Addr().String())
		run(t, StateReachable)
	})
	t.Run("failed", func(t *testing.T) {
		// The peer neither answers ARP nor sends any (its own requests
		// would refresh our entry).
		b.MustRun("nft", "add", "table", "arp", "t")
		for _, hook := range []string{"input", "output"} {
			b.MustRun("nft", "add", "chain", "arp", "t", hook, "{ type filter hook "+hook+" priority 0; }")
			b.MustRun("nft", "add", "rule", "arp", "t", hook, "drop")
		}
		a.MustRun("ip", "neigh", "flush", "dev", la.Name)
		_, _ = a.Run("ping", "-c", "1", "-W", "1", lb.Addr().String()) // no answer: the entry goes INCOMPLETE, then FAILED
		deadline := time.Now().Add(15 * time.Second)
		for {
			out, _ := a.Run("ip", "neigh", "show", lb.Addr().String(), "dev", la.Name)
			if strings.Contains(out, "FAILED") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the peer's entry did not fail within 15 s: %q", out)
			}
			time.Sleep(200 * time.Millisecond)
		}
		run(t, StateFailed)
	})
}
