package analyzetest

import (
	"encoding/binary"
	"io"
	"net/netip"
	"time"

	"github.com/arpbox/arpbox/internal/pcapng"
)

// Builders for what ARP travels in besides plain Ethernet: other link
// types, LLC/SNAP, tunnels. Checksums are left zero (tshark does not check
// them by default).

// LLCSNAP returns an IEEE 802.3 frame (length field, LLC AA-AA-03, SNAP
// OUI 00-00-00) carrying etype and payload.
func LLCSNAP(dst, src [6]byte, etype uint16, payload []byte) []byte {
	body := append([]byte{0xaa, 0xaa, 0x03, 0, 0, 0, byte(etype >> 8), byte(etype)}, payload...)
	b := append(append(append([]byte{}, dst[:]...), src[:]...), byte(len(body)>>8), byte(len(body)))
	return append(b, body...)
}

// Radiotap80211 returns a radiotap header (no fields) and an 802.11 data
// frame from a station to its access point bssid (To DS), addressed to dst,
// with LLC/SNAP carrying etype and payload. qos makes it a QoS data frame.
func Radiotap80211(dst, src, bssid [6]byte, etype uint16, payload []byte, qos bool) []byte {
	b := []byte{0, 0, 8, 0, 0, 0, 0, 0} // version, pad, length 8, present 0
	fc := byte(0x08)                    // type data, subtype 0
	if qos {
		fc = 0x88
	}
	b = append(b, fc, 0x01, 0, 0) // To DS; duration
	b = append(b, bssid[:]...)
	b = append(b, src[:]...)
	b = append(b, dst[:]...)
	b = append(b, 0, 0) // sequence control
	if qos {
		b = append(b, 0, 0)
	}
	b = append(b, 0xaa, 0xaa, 0x03, 0, 0, 0, byte(etype>>8), byte(etype))
	return append(b, payload...)
}

// IPoIBARP returns a LINKTYPE_IPOIB frame with an ARP message for
// InfiniBand hardware (type 32, 20-byte addresses): with long, the 44-byte
// header tcpdump and Wireshark read (destination and source hardware
// addresses, then type and reserved), else only the 4-byte RFC 4391 one.
func IPoIBARP(long bool, op uint16, sha [20]byte, spa string, tha [20]byte, tpa string) []byte {
	var b []byte
	if long {
		b = append(append(b, tha[:]...), sha[:]...)
	}
	b = append(b, 0x08, 0x06, 0, 0, 0, 32, 0x08, 0x00, 20, 4, byte(op>>8), byte(op))
	s, t := netip.MustParseAddr(spa).As4(), netip.MustParseAddr(tpa).As4()
	b = append(b, sha[:]...)
	b = append(b, s[:]...)
	b = append(b, tha[:]...)
	return append(b, t[:]...)
}

// ARPOfType returns an ARP body with the given hardware and protocol types
// and address lengths (addresses filled with 0x11, 0x22, …).
func ARPOfType(htype, ptype uint16, hlen, plen int, op uint16) []byte {
	b := []byte{byte(htype >> 8), byte(htype), byte(ptype >> 8), byte(ptype), byte(hlen), byte(plen), byte(op >> 8), byte(op)}
	for i := range 2*hlen + 2*plen {
		b = append(b, byte(0x11*(i%15+1)))
	}
	return b
}

// IPv4 returns an IPv4 header (no options, TTL 64) and payload.
func IPv4(src, dst string, proto byte, payload []byte) []byte {
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	n := 20 + len(payload)
	b := []byte{0x45, 0, byte(n >> 8), byte(n), 0, 0, 0x40, 0, 64, proto, 0, 0}
	b = append(b, s[:]...)
	b = append(b, d[:]...)
	return append(b, payload...)
}

// UDP returns a UDP header (checksum 0) and payload.
func UDP(sport, dport uint16, payload []byte) []byte {
	n := 8 + len(payload)
	b := []byte{byte(sport >> 8), byte(sport), byte(dport >> 8), byte(dport), byte(n >> 8), byte(n), 0, 0}
	return append(b, payload...)
}

// VXLAN returns the UDP payload of a VXLAN packet (RFC 7348) with vni,
// carrying the Ethernet frame inner.
func VXLAN(vni uint32, inner []byte) []byte {
	b := []byte{0x08, 0, 0, 0, byte(vni >> 16), byte(vni >> 8), byte(vni), 0}
	return append(b, inner...)
}

// Geneve returns the UDP payload of a Geneve packet (RFC 8926) with vni and
// one 8-byte option, carrying the Ethernet frame inner.
func Geneve(vni uint32, inner []byte) []byte {
	b := []byte{0x02, 0, 0x65, 0x58, byte(vni >> 16), byte(vni >> 8), byte(vni), 0,
		0x01, 0x02, 0x03, 0x01, 0xde, 0xad, 0xbe, 0xef}
	return append(b, inner...)
}

// ERSPAN2 returns a GRE header with a sequence number (protocol 0x88BE)
// and an ERSPAN type II header for session, carrying the mirrored frame.
func ERSPAN2(seq uint32, session uint16, inner []byte) []byte {
	b := []byte{0x10, 0, 0x88, 0xbe}
	b = binary.BigEndian.AppendUint32(b, seq)
	b = append(b, 0x10, 0, byte(session>>8)&0x03, byte(session), 0, 0, 0, 0)
	return append(b, inner...)
}

// WritePcapNGLinks writes one section with one interface per link type
// (ids in the order given) and one enhanced packet block per frame, on
// the interface Link names (an index into links).
func WritePcapNGLinks(w io.Writer, links []uint16, frames []LinkFrame) error {
	pw := pcapng.NewWriter(w)
	if err := pw.WriteSection(pcapng.Section{}); err != nil {
		return err
	}
	for i, l := range links {
		if _, err := pw.WriteInterface(pcapng.Interface{LinkType: l, Name: "if" + string(rune('0'+i))}); err != nil {
			return err
		}
	}
	for _, f := range frames {
		if err := pw.WritePacket(f.Iface, f.Time.UnixNano(), len(f.Data), f.Data, ""); err != nil {
			return err
		}
	}
	return pw.Flush()
}

// LinkFrame is a frame for WritePcapNGLinks.
type LinkFrame struct {
	Frame
	Iface int
}

// EncapFrames is ARP in everything the decoder reads besides plain
// Ethernet, and frames it cannot read, on five interfaces: Ethernet (0),
// radiotap 802.11 (1), IPoIB (2), Frame Relay (3), Linux cooked v2 (4).
// Every request is answered, so the verdict is about what was not read.
// arpFrames is how many of them tshark -Y arp counts.
func EncapFrames(t0 time.Time) (links []uint16, fs []LinkFrame, arpFrames int) {
	gwMAC, srvMAC := MAC("02:00:00:00:00:01"), MAC("02:00:00:00:00:05")
	const ms = time.Millisecond
	at0 := func(d time.Duration) time.Time { return t0.Add(d) }
	links = []uint16{1, 127, 242, 107, 276}
	add := func(iface int, d time.Duration, b []byte) {
		fs = append(fs, LinkFrame{Frame: Frame{Time: at0(d), Data: b}, Iface: iface})
	}
	vtep1, vtep2 := MAC("02:00:00:00:f0:01"), MAC("02:00:00:00:f0:02")
	outer := func(inner []byte, udp func([]byte) []byte) []byte {
		return Ethernet(vtep2, vtep1, 0x0800, IPv4("192.0.2.1", "192.0.2.2", 17, udp(inner)))
	}
	vm1, vm2 := MAC("02:00:00:00:0c:01"), MAC("02:00:00:00:0c:02")
	// Plain Ethernet and LLC/SNAP.
	add(0, 0, Request(gwMAC, "10.0.0.1", "10.0.0.5"))
	add(0, ms, Reply(srvMAC, "10.0.0.5", gwMAC, "10.0.0.1"))
	add(0, time.Second, LLCSNAP(Broadcast, gwMAC, 0x0806, ARPBody(1, gwMAC, "10.0.0.1", [6]byte{}, "10.0.0.6")))
	add(0, time.Second+ms, LLCSNAP(gwMAC, MAC("02:00:00:00:00:06"), 0x0806, ARPBody(2, MAC("02:00:00:00:00:06"), "10.0.0.6", gwMAC, "10.0.0.1")))
	// VXLAN, Geneve, ERSPAN.
	vx := func(b []byte) []byte { return UDP(40000, 4789, VXLAN(100, b)) }
	gn := func(b []byte) []byte { return UDP(40001, 6081, Geneve(200, b)) }
	add(0, 2*time.Second, outer(Request(vm1, "10.1.0.1", "10.1.0.2"), vx))
	add(0, 2*time.Second+ms, outer(Reply(vm2, "10.1.0.2", vm1, "10.1.0.1"), vx))
	add(0, 3*time.Second, outer(Request(vm1, "10.1.0.1", "10.1.0.3"), gn))
	add(0, 3*time.Second+ms, outer(Reply(MAC("02:00:00:00:0c:03"), "10.1.0.3", vm1, "10.1.0.1"), gn))
	erspan := func(seq uint32, inner []byte) []byte {
		return Ethernet(vtep2, vtep1, 0x0800, IPv4("192.0.2.1", "192.0.2.2", 47, ERSPAN2(seq, 7, inner)))
	}
	add(0, 4*time.Second, erspan(1, Request(gwMAC, "10.0.0.1", "10.0.0.7")))
	add(0, 4*time.Second+ms, erspan(2, Reply(MAC("02:00:00:00:00:07"), "10.0.0.7", gwMAC, "10.0.0.1")))
	// Not read: RARP, ARP for Frame Relay hardware (InARP), a VXLAN packet
	// cut inside the inner Ethernet header.
	add(0, 5*time.Second, Ethernet(Broadcast, vm1, 0x8035, ARPBody(3, vm1, "0.0.0.0", vm1, "0.0.0.0")))
	add(0, 5*time.Second+ms, Ethernet(Broadcast, vm1, 0x0806, ARPOfType(15, 0x0800, 2, 4, 8)))
	add(0, 5*time.Second+2*ms, outer(Request(vm1, "10.1.0.1", "10.1.0.2")[:10], vx))
	// 802.11 (a QoS data frame to the AP, and a reply from the AP).
	sta, ap := MAC("02:00:00:00:0d:01"), MAC("02:00:00:00:0d:fe")
	add(1, 6*time.Second, Radiotap80211(Broadcast, sta, ap, 0x0806, ARPBody(1, sta, "10.3.0.9", [6]byte{}, "10.3.0.1"), true))
	add(1, 6*time.Second+ms, Radiotap80211(sta, ap, ap, 0x0806, ARPBody(2, ap, "10.3.0.1", sta, "10.3.0.9"), false))
	// IPoIB.
	var ib1, ib2 [20]byte
	copy(ib1[:], []byte{0, 0, 0, 0x48, 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x00, 0x02, 0xc9, 0x03, 0x00, 0x0a, 0x0b, 0x01})
	copy(ib2[:], []byte{0, 0, 0, 0x49, 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x00, 0x02, 0xc9, 0x03, 0x00, 0x0a, 0x0b, 0x02})
	add(2, 7*time.Second, IPoIBARP(true, 1, ib1, "10.4.0.1", [20]byte{}, "10.4.0.2"))
	add(2, 7*time.Second+ms, IPoIBARP(true, 2, ib2, "10.4.0.2", ib1, "10.4.0.1"))
	// Frame Relay: two frames the decoder does not read.
	add(3, 8*time.Second, []byte{0x18, 0x41, 0x03, 0xcc, 0x45, 0, 0, 20, 0, 0, 0, 0, 64, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2})
	add(3, 8*time.Second+ms, []byte{0x18, 0x41, 0x03, 0xcc, 0x45, 0, 0, 20, 0, 0, 0, 0, 64, 1, 0, 0, 10, 0, 0, 2, 10, 0, 0, 1})
	// Linux cooked v2.
	sll2 := func(pkttype byte, src [6]byte, body []byte) []byte {
		b := []byte{0x08, 0x06, 0, 0, 0, 0, 0, 2, 0, 1, pkttype, 6}
		b = append(b, src[:]...)
		return append(append(b, 0, 0), body...)
	}
	add(4, 9*time.Second, sll2(1, gwMAC, ARPBody(1, gwMAC, "10.0.0.1", [6]byte{}, "10.0.0.8")))
	add(4, 9*time.Second+ms, sll2(0, MAC("02:00:00:00:00:08"), ARPBody(2, MAC("02:00:00:00:00:08"), "10.0.0.8", gwMAC, "10.0.0.1")))
	// ARP as tshark counts it: all but the cut VXLAN and the Frame Relay frames.
	return links, fs, len(fs) - 3
}
