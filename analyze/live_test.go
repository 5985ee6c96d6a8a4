package analyze_test

import (
	"bufio"
	"context"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arpbox/arpbox/analyze"
	"github.com/arpbox/arpbox/internal/nstest"
)

// TestLiveTwoSided builds gateway — switch (Linux bridge) — backend in three
// namespaces, captures ARP on the gateway and the backend with tcpdump, makes
// ARP fail in two different places and checks the two-sided report names the
// place.
func TestLiveTwoSided(t *testing.T) {
	nstest.RequireRoot(t, "nft", "tcpdump", "arping")
	for _, tc := range []struct {
		name  string
		fault func(sw, be *nstest.Host)
		want  string
	}{
		{"switch drops replies", func(sw, be *nstest.Host) {
			sw.MustRun("nft", "add", "table", "bridge", "f")
			sw.MustRun("nft", "add", "chain", "bridge", "f", "abxfwd", "{ type filter hook forward priority 0; }")
			sw.MustRun("nft", "add", "rule", "bridge", "f", "abxfwd", "arp", "operation", "reply", "drop")
		}, analyze.ReplyLost},
		{"backend drops its replies", func(sw, be *nstest.Host) {
			be.MustRun("nft", "add", "table", "arp", "f")
			be.MustRun("nft", "add", "chain", "arp", "f", "out", "{ type filter hook output priority 0; }")
			be.MustRun("nft", "add", "rule", "arp", "f", "out", "arp", "operation", "reply", "drop")
		}, analyze.NoReplySent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gw := nstest.NewHost(t, "gw")
			sw := nstest.NewHost(t, "sw")
			be := nstest.NewHost(t, "be")
			gwL, swA := nstest.Veth(t, gw, "10.77.0.1/24", sw, "")
			swB, beL := nstest.Veth(t, sw, "", be, "10.77.0.5/24")
			sw.MustRun("ip", "link", "add", "br0", "type", "bridge")
			sw.MustRun("ip", "link", "set", swA.Name, "master", "br0")
			sw.MustRun("ip", "link", "set", swB.Name, "master", "br0")
			sw.MustRun("ip", "link", "set", "br0", "up")

			dir := t.TempDir()
			gwCap := filepath.Join(dir, "gateway.pcap")
			beCap := filepath.Join(dir, "backend.pcap")
			stopGW := startTcpdump(t, gw, gwL.Name, gwCap)
			stopBE := startTcpdump(t, be, beL.Name, beCap)

			// A few healthy exchanges first: they anchor the clock offset.
			arping(gw, gwL.Name, "10.77.0.5", 3)
			tc.fault(sw, be)
			arping(gw, gwL.Name, "10.77.0.5", 6)
			time.Sleep(1500 * time.Millisecond) // let the last request time out on both captures
			stopGW()
			stopBE()

			rep, err := analyze.Analyze(context.Background(), []string{gwCap, beCap}, analyze.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var text strings.Builder
			rep.WriteText(&text)
			if len(rep.TwoSided) != 1 || len(rep.TwoSided[0].Exchanges) == 0 {
				t.Fatalf("no two-sided failure found:\n%s", text.String())
			}
			got := rep.TwoSided[0].Exchanges[0]
			if got.Class != tc.want || got.Asker != "10.77.0.1" || got.Target != "10.77.0.5" || got.AskerSide != "gateway" || got.Count < 4 {
				t.Errorf("two-sided = %+v, want %q for 10.77.0.1 → 10.77.0.5 asked from gateway\n%s", got, tc.want, text.String())
			}
			if rep.Verdict.Findings[0].Kind != analyze.FindTwoSided {
				t.Errorf("top finding is %q, want the two-sided one\n%s", rep.Verdict.Findings[0].Kind, text.String())
			}
			t.Logf("report:\n%s", text.String())
		})
	}
}

// startTcpdump captures ARP on ifname inside h into file and returns a
// function that stops it cleanly (SIGINT, so the file is complete).
func startTcpdump(t *testing.T, h *nstest.Host, ifname, file string) func() {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cmd := h.Command(ctx, "tcpdump", "-i", ifname, "-w", file, "-U", "-Z", "root", "arp")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		once := false
		for sc.Scan() {
			if !once && strings.Contains(sc.Text(), "listening on") {
				once = true
				close(ready)
			}
		}
		if !once {
			close(ready)
		}
	}()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("tcpdump did not start")
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		_ = cmd.Process.Signal(syscall.SIGINT)
		_ = cmd.Wait()
		cancel()
	}
	t.Cleanup(stop)
	return stop
}

// arping sends n ARP requests, one every half second; no replies is fine.
func arping(h *nstest.Host, ifname, ip string, n int) {
	_, _ = h.Run("arping", "-c", itoa(n), "-W", "0.5", "-i", ifname, ip)
}

func itoa(n int) string {
	const d = "0123456789"
	if n < 10 {
		return d[n : n+1]
	}
	return itoa(n/10) + d[n%10:n%10+1]
}
