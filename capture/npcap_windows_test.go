package capture

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"
)

func TestPickNpcapDevice(t *testing.T) {
	const (
		guidA = "{00000018-0000-0000-0000-4E6574446576}"
		guidB = "{0000001A-0000-0000-0000-4E6574446576}"
	)
	devs := []npcapDevice{
		{Name: `\Device\NPF_` + guidA, Description: "Intel(R) Ethernet", Addrs: []netip.Addr{netip.MustParseAddr("fe80::1"), netip.MustParseAddr("10.0.0.5")}},
		{Name: `\Device\NPF_` + guidB, Description: "vb1", Addrs: []netip.Addr{netip.MustParseAddr("192.168.7.2")}},
		{Name: `\Device\NPF_Loopback`, Description: "Adapter for loopback traffic capture"},
	}
	adapters := []adapterName{{Friendly: "Ethernet 2", GUID: guidA}, {Friendly: "Wi-Fi", GUID: "{DEADBEEF-0000-0000-0000-000000000000}"}}
	tests := []struct {
		name, want, wantErr string
	}{
		{`\Device\NPF_` + guidB, `\Device\NPF_` + guidB, ""},
		{"Ethernet 2", `\Device\NPF_` + guidA, ""},
		{"ethernet 2", `\Device\NPF_` + guidA, ""},
		{"vb1", `\Device\NPF_` + guidB, ""},
		{"10.0.0.5", `\Device\NPF_` + guidA, ""},
		{"192.168.7.2", `\Device\NPF_` + guidB, ""},
		{"10.9.9.9", "", "interface 10.9.9.9: no Npcap device has this address"},
		{"Wi-Fi", "", `interface "Wi-Fi" ({DEADBEEF-0000-0000-0000-000000000000}): Npcap does not list it`},
		{"eth7", "", `interface "eth7": no Npcap device, friendly name, description or address matches; Npcap lists \Device\NPF_` + guidA + " (Intel(R) Ethernet)"},
	}
	for _, tt := range tests {
		got, err := pickNpcapDevice(tt.name, devs, adapters)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("pick(%q) = %q, %v; want error containing %q", tt.name, got, err, tt.wantErr)
			}
			if !errors.Is(err, errNoNpcapDevice) { // so Live waits for it
				t.Errorf("pick(%q) error %v does not wrap errNoNpcapDevice", tt.name, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("pick(%q) = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}

// Environment of TestNpcapWineLive, set by TestNpcapWine (npcap_wine_linux_test.go),
// which runs this binary under Wine inside a network namespace.
const (
	envNpcapLive  = "ARPBOX_NPCAP_LIVE"  // "capture" or "missing"
	envNpcapIface = "ARPBOX_NPCAP_IFACE" // the Linux name of the namespace's veth (Wine's description)
	envNpcapAddr  = "ARPBOX_NPCAP_ADDR"  // its IPv4 address
)

// TestNpcapWineLive captures through wpcap.dll. It runs only when the
// Linux-side TestNpcapWine drives it (it needs a namespace with arping and
// ping traffic from a peer, which a Windows binary cannot set up).
func TestNpcapWineLive(t *testing.T) {
	mode := os.Getenv(envNpcapLive)
	switch mode {
	case "":
		t.Skip("skipping: run by TestNpcapWine on Linux (scripts/test-windows.sh), under Wine in a network namespace")
	case "missing":
		_, err := openNpcap(LiveConfig{Iface: "anything"})
		if !errors.Is(err, ErrNoNpcap) {
			t.Fatalf("openNpcap without wpcap.dll = %v, want ErrNoNpcap", err)
		}
		msg := err.Error()
		if strings.Contains(msg, "\n") || !strings.Contains(msg, "Npcap") || !strings.Contains(msg, npcapURL) {
			t.Fatalf("error %q: want one sentence naming Npcap and %s", msg, npcapURL)
		}
		t.Logf("without wpcap.dll: %s", msg)
		return
	}
	ver, err := npcapVersion()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("pcap_lib_version: %s", ver)
	iface, addr := os.Getenv(envNpcapIface), os.Getenv(envNpcapAddr)
	devs, err := npcapDevices()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("devices: %+v", devs)
	// The device by its description, by its GUID name and by its address.
	byDesc, err := resolveNpcapDevice(iface)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{byDesc, addr} {
		if got, err := resolveNpcapDevice(n); err != nil || got != byDesc {
			t.Errorf("resolve %q = %q, %v; want %q", n, got, err, byDesc)
		}
	}
	if !strings.HasPrefix(byDesc, `\Device\NPF_{`) {
		t.Errorf("device %q: want Npcap's \\Device\\NPF_{GUID} form", byDesc)
	}

	arp, err := ParseFilter("arp")
	if err != nil {
		t.Fatal(err)
	}
	h, err := openNpcap(LiveConfig{Iface: addr, Filter: arp, SnapLen: 1500, BufferBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer h.close()
	// The peer sends ARP and ICMP; only ARP passes the filter.
	var arpFrames int
	deadline := time.Now().Add(15 * time.Second)
	for arpFrames < 3 && time.Now().Before(deadline) {
		ts, wire, data, err := h.next()
		if err != nil {
			t.Fatal(err)
		}
		if data == nil {
			continue // read timeout
		}
		if len(data) < 14 || wire < len(data) {
			t.Fatalf("frame of %d bytes (%d on the wire)", len(data), wire)
		}
		if et := binary.BigEndian.Uint16(data[12:]); et != etherTypeARP {
			t.Fatalf("frame with EtherType %#04x passed the arp filter", et)
		}
		if d := time.Since(ts); d < -time.Second || d > time.Minute {
			t.Errorf("timestamp %v is %v from now", ts, d)
		}
		arpFrames++
	}
	if arpFrames < 3 {
		t.Fatalf("captured %d ARP frames in 15 s, want at least 3", arpFrames)
	}
	recv, drop, err := h.stats()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("captured %d ARP frames; pcap_stats: %d received, %d dropped", arpFrames, recv, drop)
	if recv < uint64(arpFrames) {
		t.Errorf("pcap_stats received %d < %d frames read", recv, arpFrames)
	}
	checkPromptStop(t, "with traffic", h)

	// A compiled expression nothing matches: pcap_next_ex idles (forever
	// under Wine) until interrupt.
	idle, err := openNpcap(LiveConfig{Iface: iface, Filter: arp, SnapLen: 1500, BufferBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer idle.close()
	if err := idle.setExpr("arp and host 198.51.100.77"); err != nil {
		t.Fatal(err)
	}
	// Non-blocking, the idle read returns at once with nothing.
	if err := idle.setNonblock(true); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, _, data, err := idle.next(); data != nil || err != nil || time.Since(start) > 500*time.Millisecond {
		t.Errorf("non-blocking idle next = %d bytes, %v after %v; want nothing at once", len(data), err, time.Since(start))
	}
	if err := idle.setNonblock(false); err != nil {
		t.Fatal(err)
	}
	checkPromptStop(t, "without traffic", idle)
}

// checkPromptStop reads h in a goroutine, interrupts it after 300 ms and
// wants the reader to end within a second.
func checkPromptStop(t *testing.T, what string, h *npcapHandle) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		for {
			_, _, _, err := h.next()
			if err != nil {
				done <- err
				return
			}
		}
	}()
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	h.interrupt()
	select {
	case err := <-done:
		if !errors.Is(err, errNpcapBreak) {
			t.Errorf("stop %s: next = %v, want errNpcapBreak", what, err)
		}
		t.Logf("stop %s took %v", what, time.Since(start).Round(10*time.Microsecond))
	case <-time.After(time.Second):
		t.Fatalf("stop %s: next still blocked 1 s after interrupt", what)
	}
}
