package capture

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/arpbox/arpbox/internal/pcapng"
)

// sll wraps an Ethernet frame's EtherType and payload in a Linux cooked
// (SLL, v1) header.
func sll(eth []byte) []byte {
	b := make([]byte, 16, 16+len(eth)-14)
	binary.BigEndian.PutUint16(b[2:], 1) // ARPHRD_ETHER
	binary.BigEndian.PutUint16(b[4:], 6)
	copy(b[6:12], eth[6:12])
	copy(b[14:16], eth[12:14])
	return append(b, eth[14:]...)
}

// sll2 does the same with a v2 header.
func sll2(eth []byte) []byte {
	b := make([]byte, 20, 20+len(eth)-14)
	copy(b[0:2], eth[12:14])
	binary.BigEndian.PutUint32(b[4:], 3) // ifindex
	binary.BigEndian.PutUint16(b[8:], 1) // ARPHRD_ETHER
	b[11] = 6
	copy(b[12:18], eth[6:12])
	return append(b, eth[14:]...)
}

// A pcapng of two sections, with Ethernet, SLL, SLL2 and Frame Relay interfaces:
// ReadFileInfo lists every interface as its block says, Batch.Iface
// indexes that list across sections, and the arp filter keeps the ARP
// frames of every link type arpwire decodes.
func TestReplayFileSectionsAndLinkTypes(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 1, 2, 3, 0, time.UTC)
	var buf bytes.Buffer
	w := pcapng.NewWriter(&buf)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(w.WriteSection(pcapng.Section{Hardware: "Intel(R) Xeon(R)", OS: "Linux 5.10.0-28-amd64"}))
	_, err := w.WriteInterface(pcapng.Interface{LinkType: 1, Name: "eth0", Description: "uplink", OS: "Linux 5.10.0-28-amd64", SnapLen: 1500})
	must(err)
	_, err = w.WriteInterface(pcapng.Interface{LinkType: 113, Name: "any"})
	must(err)
	arp, ip := arpFrame(), ether(0x0800, ipv4UDPPayload())
	ns := func(d time.Duration) int64 { return t0.Add(d).UnixNano() }
	must(w.WritePacket(0, ns(0), len(arp), arp, ""))
	must(w.WritePacket(1, ns(1*time.Millisecond), 0, sll(arp), ""))
	must(w.WritePacket(1, ns(2*time.Millisecond), 0, sll(ip), "")) // not ARP
	must(w.WriteSection(pcapng.Section{}))
	_, err = w.WriteInterface(pcapng.Interface{LinkType: 107, Name: "fr0"}) // Frame Relay: skipped
	must(err)
	_, err = w.WriteInterface(pcapng.Interface{LinkType: 276, OS: "Linux 6.1"}) // no name
	must(err)
	must(w.WritePacket(0, ns(3*time.Millisecond), 0, ip[14:], ""))
	must(w.WritePacket(1, ns(4*time.Millisecond), 0, sll2(arp), ""))
	must(w.WritePacket(1, ns(5*time.Millisecond), 0, sll2(ip), "")) // not ARP
	must(w.Flush())
	path := filepath.Join(t.TempDir(), "x.pcapng")
	must(os.WriteFile(path, buf.Bytes(), 0o644))

	fi, err := ReadFileInfo(path)
	must(err)
	want := []FileInterface{
		{Name: "eth0", Description: "uplink", OS: "Linux 5.10.0-28-amd64", LinkType: 1, SnapLen: 1500},
		{Name: "any", LinkType: 113},
		{Name: "fr0", LinkType: 107},
		{Name: "if3", OS: "Linux 6.1", LinkType: 276},
	}
	if diff := cmp.Diff(want, fi.Interfaces); diff != "" {
		t.Errorf("interfaces (-want +got):\n%s", diff)
	}
	if !fi.First.Equal(t0) || fi.Hardware != "Intel(R) Xeon(R)" || fi.OS != "Linux 5.10.0-28-amd64" {
		t.Errorf("first %v, hardware %q, os %q", fi.First, fi.Hardware, fi.OS)
	}
	got, err := replay(t, path, mustParseArp)
	must(err)
	var ifaces []int
	for _, r := range got {
		ifaces = append(ifaces, r.Iface)
	}
	if diff := cmp.Diff([]int{0, 1, 3}, ifaces); diff != "" {
		t.Errorf("interfaces of the ARP frames replayed (-want +got):\n%s", diff)
	}
	// Without a filter, the frames of every readable link type.
	got, err = replay(t, path, Filter{})
	must(err)
	if len(got) != 5 {
		t.Errorf("unfiltered: %d frames, want the 5 not on the Frame Relay interface", len(got))
	}
}

// FuzzReplayInterfaces: whatever a pcapng holds (several sections and link
// types in the seed), ReadFileInfo and the replay do not panic, and every
// frame replayed names an interface ReadFileInfo listed, with a link type
// replay reads.
func FuzzReplayInterfaces(f *testing.F) {
	var buf bytes.Buffer
	w := pcapng.NewWriter(&buf)
	_ = w.WriteSection(pcapng.Section{OS: "Linux"})
	_, _ = w.WriteInterface(pcapng.Interface{LinkType: 113, Name: "any"})
	_, _ = w.WriteInterface(pcapng.Interface{LinkType: 1, Name: "eth0"})
	_ = w.WritePacket(0, 1, 0, sll(arpFrame()), "")
	_ = w.WritePacket(1, 2, 0, arpFrame(), "")
	_ = w.WriteSection(pcapng.Section{})
	_, _ = w.WriteInterface(pcapng.Interface{LinkType: 276})
	_ = w.WritePacket(0, 3, 0, sll2(arpFrame()), "")
	_ = w.Flush()
	f.Add(buf.Bytes())
	f.Add([]byte{})
	dir := f.TempDir()
	n := 0
	f.Fuzz(func(t *testing.T, b []byte) {
		n++
		path := filepath.Join(dir, fmt.Sprintf("f%d", n))
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(path)
		fi, err := ReadFileInfo(path)
		if err != nil {
			return
		}
		for _, filter := range []Filter{{}, mustParseArp} {
			out := make(chan *Batch, 4)
			errc := make(chan error, 1)
			go func() { errc <- replayInfo(context.Background(), path, filter, &fi, out); close(out) }()
			for b := range out {
				if b.Iface < 0 || b.Iface >= len(fi.Interfaces) || !LinkReadable(fi.Interfaces[b.Iface].LinkType) {
					t.Errorf("batch of interface %d (%d listed: %+v)", b.Iface, len(fi.Interfaces), fi.Interfaces)
				}
				b.Release()
			}
			<-errc
		}
	})
}
