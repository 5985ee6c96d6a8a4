package analyzetest

import (
	"encoding/binary"
	"io"
	"net/netip"

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
	fc := byte(0x08)                     // type data, subtype 0
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
