package trigger

import (
	"context"
	"net/netip"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/arpbox/arpbox/internal/arpwire"
)

func TestPickARPAdapter(t *testing.T) {
	ads := []arpAdapter{
		{Name: "Loopback", GUID: "{1}", Addrs: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/8")}},
		{Name: "Ethernet 2", GUID: "{2}", Description: "Intel NIC", MAC: arpwire.MAC{2, 0, 0, 0, 0, 2},
			Addrs: []netip.Prefix{netip.MustParsePrefix("192.168.7.5/16"), netip.MustParsePrefix("10.1.2.3/24")}},
		{Name: "Bare", GUID: "{3}"},
	}
	for _, tc := range []struct {
		iface, ip, wantName, wantSrc, wantErr string
	}{
		{"", "10.1.2.200", "Ethernet 2", "10.1.2.3", ""},
		{"", "192.168.200.1", "Ethernet 2", "192.168.7.5", ""},
		{"", "172.16.0.1", "", "", `^arp: 172.16.0.1 is not on a directly connected network`},
		{"ethernet 2", "172.16.0.1", "Ethernet 2", "192.168.7.5", ""},
		{`\Device\NPF_{2}`, "10.1.2.9", "Ethernet 2", "10.1.2.3", ""},
		{"Intel NIC", "10.1.2.9", "Ethernet 2", "10.1.2.3", ""},
		{"10.1.2.3", "10.1.2.9", "Ethernet 2", "10.1.2.3", ""},
		{"Bare", "10.1.2.9", "Bare", "0.0.0.0", ""},
		{"nosuch", "10.1.2.9", "", "", `^arp: interface nosuch: no such adapter \(adapters: Loopback, Ethernet 2, Bare\)$`},
	} {
		ad, src, err := pickARPAdapter(ads, tc.iface, netip.MustParseAddr(tc.ip))
		if tc.wantErr != "" {
			if err == nil || !regexp.MustCompile(tc.wantErr).MatchString(err.Error()) {
				t.Errorf("pick(%q, %s) error = %v, want %s", tc.iface, tc.ip, err, tc.wantErr)
			}
			continue
		}
		if err != nil || ad.Name != tc.wantName || src.String() != tc.wantSrc {
			t.Errorf("pick(%q, %s) = %s, %s, %v; want %s, %s", tc.iface, tc.ip, ad.Name, src, err, tc.wantName, tc.wantSrc)
		}
	}
}

// Environment of TestARPWineLive, set by TestARPWine (arp_wine_linux_test.go),
// which runs this binary under Wine inside a network namespace.
const (
	envARPLive   = "ARPBOX_ARP_LIVE"   // "reply" or "drop" (the peer drops ARP)
	envARPTarget = "ARPBOX_ARP_TARGET" // the peer's IPv4 address
	envARPIface  = "ARPBOX_ARP_IFACE"  // the Linux name of the namespace's veth (Wine's friendly name)
	envARPFrom   = "ARPBOX_ARP_FROM"   // "MAC IP" of that veth
)

// TestARPWineLive probes the peer through Npcap (Wine's wpcap.dll). It runs
// only when the Linux-side TestARPWine drives it.
func TestARPWineLive(t *testing.T) {
	mode := os.Getenv(envARPLive)
	if mode == "" {
		t.Skip("skipping: run by TestARPWine on Linux (scripts/test-windows.sh), under Wine in a network namespace")
	}
	target, iface, from := os.Getenv(envARPTarget), os.Getenv(envARPIface), os.Getenv(envARPFrom)
	probe := func(iface string, timeout time.Duration) (time.Duration, error) {
		c, err := newARPCheck(target, iface)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		start := time.Now()
		err = c.Probe(ctx)
		return time.Since(start), err
	}
	switch mode {
	case "reply":
		for _, name := range []string{iface, ""} {
			took, err := probe(name, 3*time.Second)
			if err != nil {
				t.Fatalf("probe %s (interface %q): %v", target, name, err)
			}
			t.Logf("probe %s (interface %q): reply in %v", target, name, took)
		}
		_, err := probe("nosuch0", time.Second)
		if err == nil || !regexp.MustCompile(`^arp: interface nosuch0: no such adapter`).MatchString(err.Error()) {
			t.Errorf("probe on nosuch0 = %v", err)
		}
	case "drop":
		took, err := probe("", 1200*time.Millisecond)
		want := `^no ARP reply from ` + regexp.QuoteMeta(target) + ` on ` + regexp.QuoteMeta(iface) +
			` \(who-has from ` + regexp.QuoteMeta(from) + `\): context deadline exceeded$`
		if err == nil || !regexp.MustCompile(want).MatchString(err.Error()) {
			t.Fatalf("probe with ARP dropped = %v, want %s", err, want)
		}
		if took > 2*time.Second {
			t.Errorf("dropped probe took %v (timeout 1.2s)", took)
		}
		t.Logf("probe with ARP dropped: %v after %v", err, took.Round(time.Millisecond))
	default:
		t.Fatalf("$%s=%q: want reply or drop", envARPLive, mode)
	}
}
