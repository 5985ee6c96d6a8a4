package analyze_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arpbox/arpbox/analyze"
	at "github.com/arpbox/arpbox/analyze/analyzetest"
)

// encapFrames is ARP in everything the decoder reads besides plain
// Ethernet, and frames it cannot read, on five interfaces: Ethernet (0),
// radiotap 802.11 (1), IPoIB (2), Frame Relay (3), Linux cooked v2 (4).
// Every request is answered, so the verdict is about what was not read.
func encapFrames() (links []uint16, fs []at.LinkFrame, arpFrames int) {
	links = []uint16{1, 127, 242, 107, 276}
	add := func(iface int, d time.Duration, b []byte) {
		fs = append(fs, at.LinkFrame{Frame: at.Frame{Time: at0(d), Data: b}, Iface: iface})
	}
	vtep1, vtep2 := at.MAC("02:00:00:00:f0:01"), at.MAC("02:00:00:00:f0:02")
	outer := func(inner []byte, udp func([]byte) []byte) []byte {
		return at.Ethernet(vtep2, vtep1, 0x0800, at.IPv4("192.0.2.1", "192.0.2.2", 17, udp(inner)))
	}
	vm1, vm2 := at.MAC("02:00:00:00:0c:01"), at.MAC("02:00:00:00:0c:02")
	// Plain Ethernet and LLC/SNAP.
	add(0, 0, at.Request(gwMAC, "10.0.0.1", "10.0.0.5"))
	add(0, ms, at.Reply(srvMAC, "10.0.0.5", gwMAC, "10.0.0.1"))
	add(0, time.Second, at.LLCSNAP(at.Broadcast, gwMAC, 0x0806, at.ARPBody(1, gwMAC, "10.0.0.1", [6]byte{}, "10.0.0.6")))
	add(0, time.Second+ms, at.LLCSNAP(gwMAC, at.MAC("02:00:00:00:00:06"), 0x0806, at.ARPBody(2, at.MAC("02:00:00:00:00:06"), "10.0.0.6", gwMAC, "10.0.0.1")))
	// VXLAN, Geneve, ERSPAN.
	vx := func(b []byte) []byte { return at.UDP(40000, 4789, at.VXLAN(100, b)) }
	gn := func(b []byte) []byte { return at.UDP(40001, 6081, at.Geneve(200, b)) }
	add(0, 2*time.Second, outer(at.Request(vm1, "10.1.0.1", "10.1.0.2"), vx))
	add(0, 2*time.Second+ms, outer(at.Reply(vm2, "10.1.0.2", vm1, "10.1.0.1"), vx))
	add(0, 3*time.Second, outer(at.Request(vm1, "10.1.0.1", "10.1.0.3"), gn))
	add(0, 3*time.Second+ms, outer(at.Reply(at.MAC("02:00:00:00:0c:03"), "10.1.0.3", vm1, "10.1.0.1"), gn))
	erspan := func(seq uint32, inner []byte) []byte {
		return at.Ethernet(vtep2, vtep1, 0x0800, at.IPv4("192.0.2.1", "192.0.2.2", 47, at.ERSPAN2(seq, 7, inner)))
	}
	add(0, 4*time.Second, erspan(1, at.Request(gwMAC, "10.0.0.1", "10.0.0.7")))
	add(0, 4*time.Second+ms, erspan(2, at.Reply(at.MAC("02:00:00:00:00:07"), "10.0.0.7", gwMAC, "10.0.0.1")))
	// Not read: RARP, ARP for Frame Relay hardware (InARP), a VXLAN packet
	// cut inside the inner Ethernet header.
	add(0, 5*time.Second, at.Ethernet(at.Broadcast, vm1, 0x8035, at.ARPBody(3, vm1, "0.0.0.0", vm1, "0.0.0.0")))
	add(0, 5*time.Second+ms, at.Ethernet(at.Broadcast, vm1, 0x0806, at.ARPOfType(15, 0x0800, 2, 4, 8)))
	add(0, 5*time.Second+2*ms, outer(at.Request(vm1, "10.1.0.1", "10.1.0.2")[:10], vx))
	// 802.11 (a QoS data frame to the AP, and a reply from the AP).
	sta, ap := at.MAC("02:00:00:00:0d:01"), at.MAC("02:00:00:00:0d:fe")
	add(1, 6*time.Second, at.Radiotap80211(at.Broadcast, sta, ap, 0x0806, at.ARPBody(1, sta, "10.3.0.9", [6]byte{}, "10.3.0.1"), true))
	add(1, 6*time.Second+ms, at.Radiotap80211(sta, ap, ap, 0x0806, at.ARPBody(2, ap, "10.3.0.1", sta, "10.3.0.9"), false))
	// IPoIB.
	var ib1, ib2 [20]byte
	copy(ib1[:], []byte{0, 0, 0, 0x48, 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x00, 0x02, 0xc9, 0x03, 0x00, 0x0a, 0x0b, 0x01})
	copy(ib2[:], []byte{0, 0, 0, 0x49, 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x00, 0x02, 0xc9, 0x03, 0x00, 0x0a, 0x0b, 0x02})
	add(2, 7*time.Second, at.IPoIBARP(true, 1, ib1, "10.4.0.1", [20]byte{}, "10.4.0.2"))
	add(2, 7*time.Second+ms, at.IPoIBARP(true, 2, ib2, "10.4.0.2", ib1, "10.4.0.1"))
	// Frame Relay: two frames the decoder does not read.
	add(3, 8*time.Second, []byte{0x18, 0x41, 0x03, 0xcc, 0x45, 0, 0, 20, 0, 0, 0, 0, 64, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2})
	add(3, 8*time.Second+ms, []byte{0x18, 0x41, 0x03, 0xcc, 0x45, 0, 0, 20, 0, 0, 0, 0, 64, 1, 0, 0, 10, 0, 0, 2, 10, 0, 0, 1})
	// Linux cooked v2.
	sll2 := func(pkttype byte, src [6]byte, body []byte) []byte {
		b := []byte{0x08, 0x06, 0, 0, 0, 0, 0, 2, 0, 1, pkttype, 6}
		b = append(b, src[:]...)
		return append(append(b, 0, 0), body...)
	}
	add(4, 9*time.Second, sll2(1, gwMAC, at.ARPBody(1, gwMAC, "10.0.0.1", [6]byte{}, "10.0.0.8")))
	add(4, 9*time.Second+ms, sll2(0, at.MAC("02:00:00:00:00:08"), at.ARPBody(2, at.MAC("02:00:00:00:00:08"), "10.0.0.8", gwMAC, "10.0.0.1")))
	// ARP as tshark counts it: all but the cut VXLAN and the Frame Relay frames.
	return links, fs, len(fs) - 3
}

// TestGoldenEncap: ARP is found in every encapsulation the decoder reads,
// the rest is counted by cause, and the verdict says so instead of a bare
// "no failure". tshark -Y arp counts the same frames as ARP.
func TestGoldenEncap(t *testing.T) {
	links, fs, arp := encapFrames()
	var buf bytes.Buffer
	if err := at.WritePcapNGLinks(&buf, links, fs); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "encap.pcapng")
	writeOrCheck(t, path, buf.Bytes())
	checkWithTshark(t, path, len(fs))
	if _, err := exec.LookPath("tshark"); err == nil {
		out, err := exec.Command("tshark", "-r", path, "-Y", "arp", "-T", "fields", "-e", "frame.number").Output()
		if err != nil {
			t.Fatal(err)
		}
		if n := len(strings.Fields(string(out))); n != arp {
			t.Errorf("tshark -Y arp counts %d frames in %s, want %d", n, path, arp)
		}
	}
	rep, err := analyze.Analyze(context.Background(), []string{filepath.ToSlash(path)}, analyze.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := rep.Sides[0]
	var notRead uint64
	for _, x := range s.NotDecoded {
		notRead += x.Count
	}
	// Decoded ARP plus RARP and Frame Relay ARP is what tshark calls ARP.
	if got := int(s.ARP) + 2; got != arp {
		t.Errorf("ARP %d (+2 not decoded) = %d, tshark counts %d", s.ARP, got, arp)
	}
	if notRead != 5 {
		t.Errorf("not decoded: %d frames %+v, want 5", notRead, s.NotDecoded)
	}
	if strings.HasPrefix(rep.Verdict.Summary, "No neighbor-resolution failure found") || !strings.Contains(rep.Verdict.Summary, "could not be decoded") {
		t.Errorf("verdict %q does not say what was not read", rep.Verdict.Summary)
	}
	var txt, js, page bytes.Buffer
	if err := rep.WriteText(&txt); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{txt.String(), js.String(), page.String()} {
		for _, want := range []string{"RARP", "FRELAY", "VXLAN"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%.400s", want, out)
			}
		}
	}
	golden(t, filepath.Join("testdata", "encap.txt"), txt.Bytes())
	golden(t, filepath.Join("testdata", "encap.json"), js.Bytes())
}

// writeOrCheck writes b to path with -update (or when it is missing), and
// otherwise checks that the committed file is what the builder makes.
func writeOrCheck(t *testing.T, path string, b []byte) {
	t.Helper()
	old, err := os.ReadFile(path)
	if *update || err != nil {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(old, b) {
		t.Fatalf("%s differs from what the builder makes; run with -update", path)
	}
}
