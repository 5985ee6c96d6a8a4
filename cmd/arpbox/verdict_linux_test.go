package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	at "github.com/arpbox/arpbox/analyze/analyzetest"
	"github.com/arpbox/arpbox/internal/nstest"
)

// TestBundleVerdictLeadsWithTrigger: an older outage of one address (the
// backend's second address stops answering ARP for a while, then
// recovers) precedes a trigger on another address (the backend's first).
// The bundle holds both; its verdict must lead with the trigger's target
// and tell the older outage in the past tense.
func TestBundleVerdictLeadsWithTrigger(t *testing.T) {
	nstest.RequireRoot(t, "nft", "ping")
	gw, be := nstest.NewHost(t, "gw"), nstest.NewHost(t, "be")
	lg, lb := nstest.Veth(t, gw, "10.211.0.1/24", be, "10.211.0.2/24")
	old := "10.211.0.3"
	be.MustRun("ip", "addr", "add", old+"/24", "dev", lb.Name)
	for _, kv := range []string{"base_reachable_time_ms=1000", "delay_first_probe_time=1", "retrans_time_ms=300", "gc_stale_time=1"} {
		gw.MustRun("sysctl", "-qw", "net.ipv4.neigh."+lg.Name+"."+kv)
	}
	dir := t.TempDir()
	startRecorder(t, gw, lg.Name, dir, recorderOpts{
		ring:      "segment_size: 256KiB\nsegment_duration: 3s\nmax_size: 32MiB",
		snapshots: "before: 2m\nafter: 3s\ncooldown: 5s",
		triggers: fmt.Sprintf(`  - name: web1
    check: icmp
    target: %s
    interval: 300ms
    timeout: 250ms
    fail_after: 3
    recover_after: 2
`, lb.Addr()),
	})
	// ping keeps the gateway resolving the old address while it runs.
	pingOld := func(d time.Duration) {
		gw.Run("ping", "-q", "-i", "0.3", "-w", fmt.Sprint(int(d.Seconds())), old)
	}
	drop := func(table, ip string) {
		be.MustRun("nft", "add", "table", "arp", table)
		be.MustRun("nft", "add", "chain", "arp", table, "in", "{ type filter hook input priority 0; }")
		be.MustRun("nft", "add", "rule", "arp", table, "in", "arp", "daddr", "ip", ip, "drop")
	}
	pingOld(3 * time.Second) // healthy
	drop("old", old)
	t.Logf("%s stops answering ARP", old)
	pingOld(8 * time.Second)
	be.MustRun("nft", "delete", "table", "arp", "old")
	t.Logf("%s answers again", old)
	pingOld(15 * time.Second) // recovered, well before the trigger
	drop("web1", lb.Addr().String())
	t.Logf("%s (the trigger's target) stops answering ARP", lb.Addr())
	b := waitBundles(t, filepath.Join(dir, "snapshots"), 1, 60*time.Second)
	be.MustRun("nft", "delete", "table", "arp", "web1")

	rep, err := os.ReadFile(filepath.Join(b[0], "report.txt"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(rep)
	verdict := section(text, "VERDICT")
	if !strings.HasPrefix(strings.TrimSpace(verdict), lb.Addr().String()+" ") {
		t.Errorf("verdict does not lead with the trigger's target %s:\n%s", lb.Addr(), text)
	}
	findings := section(text, "FINDINGS")
	i, j := strings.Index(findings, lb.Addr().String()+" "), strings.Index(findings, old+" ")
	if i < 0 || j < 0 || j < i {
		t.Errorf("findings: %s should come first, then %s:\n%s", lb.Addr(), old, text)
	}
	if j >= 0 && !strings.Contains(findings[j:], "recovered at") {
		t.Errorf("the older outage of %s is not in the past tense:\n%s", old, findings[j:])
	}
	t.Logf("bundle verdict and findings:\n%s\n%s", verdict, findings)
	if t.Failed() {
		return
	}
	// arpbox report on the bundle says the same.
	code, out, stderr := runReport(b[0])
	if code != 0 || !strings.HasPrefix(strings.TrimSpace(section(out, "VERDICT")), lb.Addr().String()+" ") {
		t.Errorf("arpbox report %s: exit %d, %s\n%s", b[0], code, stderr, out)
	}
}

// section returns the lines after the heading up to the next blank line.
func section(text, heading string) string {
	_, rest, ok := strings.Cut(text, "\n"+heading)
	if !ok {
		return ""
	}
	_, rest, _ = strings.Cut(rest, "\n")
	body, _, _ := strings.Cut(rest, "\n\n")
	return body
}

// TestSpoofedGatewayFires: arpbox on a server watches its default gateway
// with arp-conflict (target: gateway). After the gateway has answered, a
// frame from another MAC claims the gateway's address in a reply nobody
// asked for. The trigger fires, its reason names the unsolicited reply,
// and the bundle's report flags it.
func TestSpoofedGatewayFires(t *testing.T) {
	nstest.RequireRoot(t, "ping")
	srv, gw := nstest.NewHost(t, "srv"), nstest.NewHost(t, "gw")
	ls, lg := nstest.Veth(t, srv, "10.212.0.2/24", gw, "10.212.0.1/24")
	srv.MustRun("ip", "route", "add", "default", "via", lg.Addr().String())
	dir := t.TempDir()
	startRecorder(t, srv, ls.Name, dir, recorderOpts{
		ring:      "segment_size: 256KiB\nsegment_duration: 3s\nmax_size: 32MiB",
		snapshots: "before: 1m\nafter: 2s\ncooldown: 5s",
		triggers: `  - name: gw-spoof
    check: arp-conflict
    target: gateway
    interval: 300ms
    timeout: 100ms
    fail_after: 1
    recover_after: 2
`,
	})
	srv.MustRun("ping", "-c", "2", "-i", "0.3", lg.Addr().String()) // the gateway answers ARP
	time.Sleep(2 * time.Second)
	evil := [6]byte{0x02, 0x66, 0x66, 0x66, 0x66, 0x66}
	frame := at.Reply(evil, lg.Addr().String(), [6]byte(ls.MAC), ls.Addr().String())
	if err := gw.Do(func() error { return sendRaw(lg.Name, frame) }); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s sent an unsolicited reply claiming %s", net.HardwareAddr(evil[:]), lg.Addr())
	b := waitBundles(t, filepath.Join(dir, "snapshots"), 1, 30*time.Second)
	man, err := os.ReadFile(filepath.Join(b[0], "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(man), "unsolicited reply") || !strings.Contains(string(man), "02:66:66:66:66:66") {
		t.Errorf("trigger reason does not name the unsolicited reply:\n%s", man)
	}
	rep, err := os.ReadFile(filepath.Join(b[0], "report.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(rep), "Unsolicited ARP reply claims") {
		t.Errorf("bundle report does not flag the unsolicited reply:\n%s", rep)
	}
}

// sendRaw writes one Ethernet frame on iface through an AF_PACKET socket
// (in the namespace of the calling thread).
func sendRaw(iface string, frame []byte) error {
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return err
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	sa := &unix.SockaddrLinklayer{Ifindex: ifi.Index, Halen: 6}
	copy(sa.Addr[:], frame[:6])
	return unix.Sendto(fd, frame, 0, sa)
}
