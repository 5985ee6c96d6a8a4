package analyze

import (
	"encoding/binary"

	"github.com/arpbox/arpbox/internal/arpwire"
)

// What ARP can be wrapped in, decoded here without allocating:
//
//   - link types other than Ethernet and Linux cooked: IEEE 802.11 data
//     frames (LINKTYPE_IEEE802_11 105, behind radiotap 127, PPI 192, Prism
//     119 or AVS 163 headers) with LLC/SNAP; IP over InfiniBand (242, RFC
//     4391 ARP with 20-byte hardware addresses); raw IP (101, 228, 229) and
//     BSD loopback (0, 108), which carry ARP only inside a tunnel;
//   - IEEE 802.2 LLC/SNAP on Ethernet (802.3 length instead of EtherType);
//   - tunnels over IPv4 or IPv6: VXLAN (UDP 4789), VXLAN-GPE (4790),
//     Geneve (6081), GRE carrying Ethernet (0x6558, NVGRE), ARP (0x0806) or
//     ERSPAN types I, II (0x88BE) and III (0x22EB); MPLS with an Ethernet
//     pseudowire (with or without the control word); IEEE 802.1ah
//     MAC-in-MAC (0x88E7).
//
// A tunnel whose inner frame cannot be read (cut by the snap length, an
// unknown inner protocol, nested too deep) is errTunnel, counted as "ARP
// inside a tunnel, not decoded" only when it is a tunnel that carries
// Ethernet. The inner frame's VLAN tags are the packet's; the tunnel's own
// identifiers (VNI, session) are not kept.

// Link types decoded here (pcap LINKTYPE_*).
const (
	linkNull      = 0
	linkRaw       = 101
	linkIEEE80211 = 105
	linkLoop      = 108
	linkPrism     = 119
	linkRadiotap  = 127
	linkAVS       = 163
	linkPPI       = 192
	linkIPv4      = 228
	linkIPv6      = 229
	linkIPoIB     = 242
)

// EtherTypes and protocol numbers used below.
const (
	etherTypeRARP      = 0x8035
	etherTypeMPLS      = 0x8847
	etherTypeMPLSMulti = 0x8848
	etherTypePBB       = 0x88e7 // IEEE 802.1ah provider backbone bridging (MAC-in-MAC)
	etherTypeTEB       = 0x6558 // transparent Ethernet bridging
	etherTypeERSPAN2   = 0x88be
	etherTypeERSPAN3   = 0x22eb
	sllProtoLLC        = 0x0004 // ETH_P_802_2 in a cooked capture

	arpHWEthernet   = 1
	arpHWIEEE802    = 6
	arpHWInfiniBand = 32

	ipProtoUDP = 17
	ipProtoGRE = 47

	portVXLAN    = 4789
	portVXLANGPE = 4790
	portGeneve   = 6081
)

// Tunnel kinds, the detail of errTunnel.
const (
	tunnelVXLAN = iota + 1
	tunnelVXLANGPE
	tunnelGeneve
	tunnelGRE
	tunnelERSPAN
	tunnelMPLS
	tunnelNested
	tunnelPBB
)

// maxDepth bounds tunnels inside tunnels.
const maxDepth = 4

func decodeOtherLink(link int, b []byte, p *Packet, depth int) decodeError {
	switch link {
	case linkIEEE80211:
		return decode80211(b, p, depth)
	case linkRadiotap:
		// version(1) pad(1) length(2, little-endian) present(4)…
		if len(b) < 8 {
			return errShort
		}
		n := int(binary.LittleEndian.Uint16(b[2:4]))
		if n < 8 || n > len(b) {
			return errShort
		}
		return decode80211(b[n:], p, depth)
	case linkPPI:
		// version(1) flags(1) length(2, LE) link type(4, LE)
		if len(b) < 8 {
			return errShort
		}
		n, dlt := int(binary.LittleEndian.Uint16(b[2:4])), binary.LittleEndian.Uint32(b[4:8])
		if n < 8 || n > len(b) {
			return errShort
		}
		if dlt == linkPPI || dlt > 0xffff {
			p.why = dlt
			return errLinkType
		}
		return decodeLink(int(dlt), b[n:], p, depth)
	case linkPrism:
		// msgcode(4) msglen(4, host order: little-endian in practice)
		if len(b) < 8 {
			return errShort
		}
		n := int(binary.LittleEndian.Uint32(b[4:8]))
		if n < 8 || n > len(b) {
			return errShort
		}
		return decode80211(b[n:], p, depth)
	case linkAVS:
		// version(4) length(4, big-endian)
		if len(b) < 8 {
			return errShort
		}
		n := int(binary.BigEndian.Uint32(b[4:8]))
		if n < 8 || n > len(b) {
			return errShort
		}
		return decode80211(b[n:], p, depth)
	case linkIPoIB:
		return decodeIPoIB(b, p, depth)
	case linkRaw, linkIPv4, linkIPv6:
		return decodeIP(b, p, depth)
	case linkNull, linkLoop:
		// A 4-byte address family, then IPv4 or IPv6.
		if len(b) < 4 {
			return errShort
		}
		return decodeIP(b[4:], p, depth)
	}
	p.why = uint32(link)
	return errLinkType
}

// decode80211 decodes an IEEE 802.11 data frame carrying LLC/SNAP: the
// addresses map onto the Ethernet ones (DA, SA by the To/From DS bits).
// Management and control frames and null data are not resolution; a
// protected (encrypted) data frame is errEncrypted.
func decode80211(b []byte, p *Packet, depth int) decodeError {
	if len(b) < 2 {
		return errShort
	}
	fc, flags := b[0], b[1]
	if fc&0x03 != 0 || (fc>>2)&3 != 2 { // protocol version 0, type data
		return errNotResolution // management and control frames (an ACK is 10 bytes)
	}
	sub := fc >> 4
	if sub&4 != 0 { // no data (null, CF-ack/poll only)
		return errNotResolution
	}
	if len(b) < 24 {
		return errShort
	}
	toDS, fromDS := flags&1 != 0, flags&2 != 0
	n := 24
	if toDS && fromDS {
		n = 30
	}
	qos := sub&8 != 0
	if qos {
		n += 2
		if flags&0x80 != 0 { // +HTC
			n += 4
		}
	}
	if len(b) < n {
		return errShort
	}
	if flags&0x40 != 0 {
		return errEncrypted
	}
	a1, a2, a3 := MAC(b[4:10]), MAC(b[10:16]), MAC(b[16:22])
	switch {
	case !toDS && !fromDS:
		p.EthDst, p.EthSrc = a1, a2
	case toDS && !fromDS:
		p.EthDst, p.EthSrc = a3, a2
	case !toDS && fromDS:
		p.EthDst, p.EthSrc = a1, a3
	default:
		p.EthDst, p.EthSrc = a3, MAC(b[24:30])
	}
	body := b[n:]
	if qos && b[n-2-boolInt(flags&0x80 != 0)*4]&0x80 != 0 {
		// An A-MSDU: the first subframe, DA(6) SA(6) length(2) LLC…
		if len(body) < 14 {
			return errShort
		}
		p.EthDst, p.EthSrc = MAC(body[0:6]), MAC(body[6:12])
		l := int(binary.BigEndian.Uint16(body[12:14]))
		body = body[14:]
		if l < len(body) {
			body = body[:l]
		}
	}
	p.Broadcast = p.EthDst.IsGroup()
	et, payload, ok := snap(body)
	if !ok {
		return errNotResolution
	}
	return decodeEtherType(LinkEthernet, et, payload, p, depth)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// snap reads an 802.2 LLC header with a SNAP extension (AA AA 03, OUI
// 00-00-00 or the bridge-tunnel 00-00-F8) and returns its EtherType.
func snap(b []byte) (uint16, []byte, bool) {
	if len(b) < 8 || b[0] != 0xaa || b[1] != 0xaa || b[2] != 0x03 || b[3] != 0 || b[4] != 0 || (b[5] != 0 && b[5] != 0xf8) {
		return 0, nil, false
	}
	return binary.BigEndian.Uint16(b[6:8]), b[8:], true
}

// decodeLLC decodes an 802.3 frame's LLC/SNAP payload.
func decodeLLC(link int, b []byte, p *Packet, depth int) decodeError {
	et, payload, ok := snap(b)
	if !ok || et <= 1500 {
		return errNotResolution
	}
	return decodeEtherType(link, et, payload, p, depth)
}

// decodeIPoIB decodes LINKTYPE_IPOIB: either the 4-byte RFC 4391
// encapsulation header (type, reserved) or the 44-byte form that Solaris and
// tcpdump use (destination and source hardware addresses, then the
// 4-byte header).
func decodeIPoIB(b []byte, p *Packet, depth int) decodeError {
	known := func(et uint16) bool {
		return et == arpwire.EtherTypeARP || et == arpwire.EtherTypeIPv4 || et == arpwire.EtherTypeIPv6 || et == etherTypeRARP
	}
	if len(b) >= 44 {
		if et := binary.BigEndian.Uint16(b[40:42]); known(et) {
			return decodeEtherType(linkIPoIB, et, b[44:], p, depth)
		}
	}
	if len(b) < 4 {
		return errShort
	}
	return decodeEtherType(linkIPoIB, binary.BigEndian.Uint16(b[0:2]), b[4:], p, depth)
}

// ibMAC folds a 20-byte InfiniBand hardware address (flags and QPN(4),
// GID(16)) to 6 bytes: the port GUID, the GID's last 8 bytes, without its
// middle two (the EUI-64 to EUI-48 mapping). It names a port; it is not
// an Ethernet address.
func ibMAC(a []byte) MAC {
	g := a[12:20]
	return MAC{g[0], g[1], g[2], g[5], g[6], g[7]}
}

// decodeIP looks for a tunnel that carries Ethernet (or ARP) in an IPv4 or
// IPv6 packet and decodes the frame inside. Anything else is not
// resolution.
func decodeIP(b []byte, p *Packet, depth int) decodeError {
	if len(b) < 1 {
		return errNotResolution
	}
	var proto byte
	var payload []byte
	switch b[0] >> 4 {
	case 4:
		if len(b) < 20 {
			return errNotResolution
		}
		ihl := int(b[0]&0x0f) * 4
		if ihl < 20 || len(b) < ihl {
			return errNotResolution
		}
		if binary.BigEndian.Uint16(b[6:8])&0x1fff != 0 {
			return errNotResolution // a later fragment
		}
		end := int(binary.BigEndian.Uint16(b[2:4]))
		if end < ihl || end > len(b) {
			end = len(b) // cut by the snap length, or a bad total length
		}
		proto, payload = b[9], b[ihl:end]
	case 6:
		if len(b) < 40 {
			return errNotResolution
		}
		end := 40 + int(binary.BigEndian.Uint16(b[4:6]))
		if end > len(b) {
			end = len(b)
		}
		proto, payload = b[6], b[40:end]
	default:
		return errNotResolution
	}
	switch proto {
	case ipProtoUDP:
		return decodeUDP(payload, p, depth)
	case ipProtoGRE:
		return decodeGRE(payload, p, depth)
	}
	return errNotResolution
}

// tunnel decodes the Ethernet frame inside a tunnel of the given kind. A
// frame that cannot be read is errTunnel; a readable one that is not ARP
// or NDP is not resolution.
func tunnel(kind uint32, inner []byte, p *Packet, depth int) decodeError {
	if depth+1 >= maxDepth {
		p.why = tunnelNested
		return errTunnel
	}
	*p = Packet{}
	e := decodeLink(LinkEthernet, inner, p, depth+1)
	switch e {
	case errShort, errLinkType:
		*p = Packet{why: kind}
		return errTunnel
	}
	return e
}

func decodeUDP(b []byte, p *Packet, depth int) decodeError {
	if len(b) < 8 {
		return errNotResolution
	}
	sport, dport := binary.BigEndian.Uint16(b[0:2]), binary.BigEndian.Uint16(b[2:4])
	port := func(n uint16) bool { return dport == n || sport == n }
	d := b[8:]
	switch {
	case port(portVXLAN):
		// flags(1: I = 0x08) reserved(3) VNI(3) reserved(1)
		if len(d) < 8 || d[0]&0x08 == 0 {
			p.why = tunnelVXLAN
			return errTunnel
		}
		return tunnel(tunnelVXLAN, d[8:], p, depth)
	case port(portVXLANGPE):
		// flags(1) reserved(2) next protocol(1: 3 = Ethernet) VNI(3) reserved(1)
		if len(d) < 8 {
			p.why = tunnelVXLANGPE
			return errTunnel
		}
		if d[3] != 3 {
			return errNotResolution
		}
		return tunnel(tunnelVXLANGPE, d[8:], p, depth)
	case port(portGeneve):
		// version(2 bits) option length(6 bits, 4-byte words) flags(1)
		// protocol(2) VNI(3) reserved(1) options…
		if len(d) < 8 || d[0]>>6 != 0 {
			p.why = tunnelGeneve
			return errTunnel
		}
		n := 8 + int(d[0]&0x3f)*4
		if len(d) < n {
			p.why = tunnelGeneve
			return errTunnel
		}
		switch binary.BigEndian.Uint16(d[2:4]) {
		case etherTypeTEB:
			return tunnel(tunnelGeneve, d[n:], p, depth)
		case arpwire.EtherTypeARP:
			return decodeARP(d[n:], p)
		}
	}
	return errNotResolution
}

// decodeGRE decodes GRE version 0 (RFC 2784, 2890) carrying Ethernet,
// ARP or ERSPAN.
func decodeGRE(b []byte, p *Packet, depth int) decodeError {
	if len(b) < 4 || b[1]&0x07 != 0 {
		return errNotResolution
	}
	n := 4
	if b[0]&0xc0 != 0 { // checksum or routing present: checksum(2) offset(2)
		n += 4
	}
	if b[0]&0x20 != 0 { // key
		n += 4
	}
	seq := b[0]&0x10 != 0
	if seq {
		n += 4
	}
	proto := binary.BigEndian.Uint16(b[2:4])
	if len(b) < n {
		switch proto {
		case etherTypeTEB, etherTypeERSPAN2, etherTypeERSPAN3, arpwire.EtherTypeARP:
			p.why = tunnelGRE
			return errTunnel
		}
		return errNotResolution
	}
	d := b[n:]
	switch proto {
	case etherTypeTEB:
		return tunnel(tunnelGRE, d, p, depth)
	case arpwire.EtherTypeARP:
		return decodeARP(d, p)
	case etherTypeERSPAN2:
		if !seq { // type I: no ERSPAN header
			return tunnel(tunnelERSPAN, d, p, depth)
		}
		// version(4 bits) VLAN(12) COS/En/T/session(16) reserved/index(32)
		if len(d) < 8 {
			p.why = tunnelERSPAN
			return errTunnel
		}
		return tunnel(tunnelERSPAN, d[8:], p, depth)
	case etherTypeERSPAN3:
		// 12-byte header; the O flag (last bit) adds an 8-byte subheader.
		if len(d) < 12 {
			p.why = tunnelERSPAN
			return errTunnel
		}
		m := 12
		if d[11]&1 != 0 {
			m += 8
		}
		if len(d) < m {
			p.why = tunnelERSPAN
			return errTunnel
		}
		return tunnel(tunnelERSPAN, d[m:], p, depth)
	}
	return errNotResolution
}

// decodeMPLS pops the label stack; an IP packet below is not resolution
// (or a tunnel, see decodeIP), anything else is read as an Ethernet
// pseudowire, after the control word if there is one (first nibble 0).
func decodeMPLS(b []byte, p *Packet, depth int) decodeError {
	if depth+1 >= maxDepth {
		return errNotResolution
	}
	for i := 0; ; i++ {
		if len(b) < 4 || i == 16 {
			return errNotResolution
		}
		bos := b[2]&1 != 0
		b = b[4:]
		if bos {
			break
		}
	}
	if len(b) == 0 {
		return errNotResolution
	}
	switch b[0] >> 4 {
	case 4, 6:
		return decodeIP(b, p, depth)
	case 0:
		if len(b) < 4 {
			return errNotResolution
		}
		b = b[4:]
	}
	// Only a frame that decodes as ARP counts: a pseudowire that is not
	// Ethernet cannot be told from one that is.
	var q Packet
	if e := decodeLink(LinkEthernet, b, &q, depth+1); e == errNone || e == errARPType || e == errARPOp || e == errRARP || e == errBadARP {
		*p = q
		return e
	}
	return errNotResolution
}
