package capture

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/arpbox/arpbox/internal/nstest"
	"github.com/arpbox/arpbox/internal/wine/winetest"
)

// TestNpcapWine runs this package's Windows test binary under Wine inside a
// network namespace, capturing through Wine's wpcap.dll (a wrapper of the
// host's libpcap) while a peer namespace sends ARP and ICMP:
// TestNpcapWineLive checks device naming, the arp filter, stats and a
// prompt stop with and without traffic. Then, with Wine's wpcap disabled,
// opening fails with one sentence naming Npcap, and no panic.
func TestNpcapWine(t *testing.T) {
	winetest.Require(t)
	nstest.RequireRoot(t, "arping", "ping")
	exe := winetest.BuildTest(t, ".")
	a := nstest.NewHost(t, "nw")
	b := nstest.NewHost(t, "nw")
	la, lb := nstest.Veth(t, a, "10.77.0.1/24", b, "10.77.0.2/24")
	w := winetest.Start(t, a)

	run := func(t *testing.T, env []string) string {
		return w.RunTest(t, env, exe, "^(TestNpcapWineLive|TestLiveNpcapWineLive)$", "TestNpcapWineLive", 90*time.Second)
	}

	t.Run("capture", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		var peers []*exec.Cmd
		defer func() {
			cancel()
			for _, c := range peers {
				_ = c.Wait() // killed by cancel
			}
		}()
		// ARP and ICMP from the peer for as long as the capture runs: a
		// burst of 50 ARP requests 1 ms apart every second.
		burst := "for i in $(seq 60); do arping -q -c 50 -W 0.001 -i " + lb.Name + " " + la.Addr().String() + "; sleep 1; done"
		for _, argv := range [][]string{
			{"sh", "-c", burst},
			{"ping", "-q", "-c", "300", "-i", "0.1", "-w", "60", la.Addr().String()},
		} {
			cmd := b.Command(ctx, argv...)
			if err := cmd.Start(); err != nil {
				t.Fatalf("%s: %v", argv[0], err)
			}
			peers = append(peers, cmd)
		}
		out := run(t, []string{"ARPBOX_NPCAP_LIVE=capture", "ARPBOX_NPCAP_IFACE=" + la.Name, "ARPBOX_NPCAP_ADDR=" + la.Addr().String()})
		for _, want := range []string{"pcap_lib_version: ", "stop with traffic took", "stop without traffic took",
			"--- PASS: TestLiveNpcapWineLive", "frames in"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q", want)
			}
		}
	})
	t.Run("without wpcap", func(t *testing.T) {
		out := run(t, []string{"ARPBOX_NPCAP_LIVE=missing", "WINEDLLOVERRIDES=wpcap=d"})
		if !strings.Contains(out, "without wpcap.dll: capture needs Npcap") {
			t.Errorf("output lacks the Npcap sentence")
		}
	})
}
