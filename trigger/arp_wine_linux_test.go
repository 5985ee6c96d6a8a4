package trigger

import (
	"strings"
	"testing"
	"time"

	"github.com/arpbox/arpbox/internal/nstest"
	"github.com/arpbox/arpbox/internal/wine/winetest"
)

// TestARPWine runs this package's Windows test binary under Wine inside a
// network namespace: TestARPWineLive's arp check probes the peer through
// Wine's wpcap.dll and gets a reply; then, with the peer dropping ARP (an
// nft arp rule), it fails with Linux's sentence within its timeout.
func TestARPWine(t *testing.T) {
	winetest.Require(t)
	nstest.RequireRoot(t, "nft", "ping")
	exe := winetest.BuildTest(t, ".")
	a := nstest.NewHost(t, "rw")
	b := nstest.NewHost(t, "rw")
	la, lb := nstest.Veth(t, a, "10.78.0.1/24", b, "10.78.0.2/24")
	w := winetest.Start(t, a)

	run := func(t *testing.T, mode string) string {
		env := []string{"ARPBOX_ARP_LIVE=" + mode, "ARPBOX_ARP_TARGET=" + lb.Addr().String(),
			"ARPBOX_ARP_IFACE=" + la.Name, "ARPBOX_ARP_FROM=" + la.MAC.String() + " " + la.Addr().String()}
		return w.RunTest(t, env, exe, "^TestARPWineLive$", "TestARPWineLive", 60*time.Second)
	}
	t.Run("reply", func(t *testing.T) {
		out := run(t, "reply")
		if !strings.Contains(out, "reply in") {
			t.Errorf("output lacks a reply")
		}
	})
	t.Run("peer drops ARP", func(t *testing.T) {
		nftRules(t, b, "add table arp t; add chain arp t in { type filter hook input priority 0; policy drop; }")
		out := run(t, "drop")
		if !strings.Contains(out, "no ARP reply from "+lb.Addr().String()) {
			t.Errorf("output lacks the no-reply sentence")
		}
	})
}
