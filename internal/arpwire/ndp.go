package arpwire

import (
	"encoding/binary"
	"net/netip"
)

// ICMPv6 types of the NDP messages this package decodes (RFC 4861 section 4).
const (
	TypeNeighborSolicitation  = 135
	TypeNeighborAdvertisement = 136
)

// NDP option types carrying a link-layer address (RFC 4861 section 4.6.1).
const (
	OptSourceLinkAddr = 1
	OptTargetLinkAddr = 2
)

const (
	ipv6HeaderLen = 40
	protoICMPv6   = 58
	ndpLen        = 24 // type, code, checksum, flags/reserved, target
	maxExtHeaders = 4
)

// NDP is an IPv6 neighbor solicitation or advertisement (RFC 4861 sections
// 4.3 and 4.4) with the IPv6 header fields that matter to it.
type NDP struct {
	// Src is the IPv6 source (:: for duplicate address detection), Dst the
	// destination (a solicited-node multicast group for most solicitations).
	Src, Dst netip.Addr
	// HopLimit is 255 unless a router forwarded the message, which makes it
	// invalid (RFC 4861 section 7.1); decoding does not check it.
	HopLimit uint8
	// Type is TypeNeighborSolicitation or TypeNeighborAdvertisement.
	Type uint8
	// Router, Solicited and Override are an advertisement's R, S and O
	// flags; they are false in a solicitation.
	Router, Solicited, Override bool
	// Target is the address asked about (solicitation) or answered for
	// (advertisement).
	Target netip.Addr
	// LinkAddr is the solicitation's source link-layer address option or
	// the advertisement's target link-layer address option (the first, if
	// there are several); HasLinkAddr says whether there is one.
	LinkAddr    MAC
	HasLinkAddr bool
}

// UnmarshalBinary decodes the IPv6 packet b (an Ethernet frame's payload),
// skipping up to four hop-by-hop, routing or destination options headers. It
// reads no further than the IPv6 payload length (so padding and a trailing
// frame check sequence are ignored). The ICMPv6 checksum is not verified:
// captures of outgoing packets carry unfinished checksums when the NIC
// computes them. It returns ErrTruncated, ErrNotNDP or ErrMalformedNDP.
func (m *NDP) UnmarshalBinary(b []byte) error {
	if len(b) < ipv6HeaderLen {
		return ErrTruncated
	}
	if b[0]>>4 != 6 {
		return ErrNotNDP
	}
	// A payload length of 0 announces a jumbogram; read to the end then.
	if n := ipv6HeaderLen + int(binary.BigEndian.Uint16(b[4:6])); n > ipv6HeaderLen && n < len(b) {
		b = b[:n]
	}
	next, hop := b[6], b[7]
	src, dst := netip.AddrFrom16([16]byte(b[8:24])), netip.AddrFrom16([16]byte(b[24:40]))
	b = b[ipv6HeaderLen:]
	for i := 0; i < maxExtHeaders && (next == 0 || next == 43 || next == 60); i++ {
		if len(b) < 8 {
			return ErrTruncated
		}
		n := 8 + int(b[1])*8
		if len(b) < n {
			return ErrTruncated
		}
		next, b = b[0], b[n:]
	}
	if next != protoICMPv6 || len(b) < 1 || (b[0] != TypeNeighborSolicitation && b[0] != TypeNeighborAdvertisement) {
		return ErrNotNDP
	}
	if len(b) < ndpLen {
		return ErrTruncated
	}
	if b[1] != 0 {
		return ErrMalformedNDP
	}
	*m = NDP{Src: src, Dst: dst, HopLimit: hop, Type: b[0], Target: netip.AddrFrom16([16]byte(b[8:24]))}
	want := byte(OptSourceLinkAddr)
	if m.Type == TypeNeighborAdvertisement {
		m.Router, m.Solicited, m.Override = b[4]&0x80 != 0, b[4]&0x40 != 0, b[4]&0x20 != 0
		want = OptTargetLinkAddr
	}
	for opts := b[ndpLen:]; len(opts) >= 2; {
		n := int(opts[1]) * 8
		if n == 0 || n > len(opts) {
			*m = NDP{}
			return ErrMalformedNDP
		}
		if opts[0] == want && !m.HasLinkAddr {
			m.LinkAddr, m.HasLinkAddr = MAC(opts[2:8]), true
		}
		opts = opts[n:]
	}
	return nil
}

// AppendBinary appends m to b as an IPv6 packet: the header (no extension
// headers) and the ICMPv6 message with its checksum and, if HasLinkAddr,
// the link-layer address option. It returns ErrInvalidAddr unless Src, Dst
// and Target are IPv6 addresses, and ErrNotNDP for another Type.
func (m *NDP) AppendBinary(b []byte) ([]byte, error) {
	if !m.Src.Is6() || !m.Dst.Is6() || !m.Target.Is6() {
		return b, ErrInvalidAddr
	}
	var flags byte
	opt := byte(OptSourceLinkAddr)
	switch m.Type {
	case TypeNeighborSolicitation:
	case TypeNeighborAdvertisement:
		opt = OptTargetLinkAddr
		if m.Router {
			flags |= 0x80
		}
		if m.Solicited {
			flags |= 0x40
		}
		if m.Override {
			flags |= 0x20
		}
	default:
		return b, ErrNotNDP
	}
	plen := ndpLen
	if m.HasLinkAddr {
		plen += 8
	}
	src, dst, target := m.Src.As16(), m.Dst.As16(), m.Target.As16()
	b = append(b, 0x60, 0, 0, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(plen))
	b = append(b, protoICMPv6, m.HopLimit)
	b = append(b, src[:]...)
	b = append(b, dst[:]...)
	start := len(b)
	b = append(b, m.Type, 0, 0, 0, flags, 0, 0, 0)
	b = append(b, target[:]...)
	if m.HasLinkAddr {
		b = append(b, opt, 1)
		b = append(b, m.LinkAddr[:]...)
	}
	binary.BigEndian.PutUint16(b[start+2:], checksum(src, dst, b[start:]))
	return b, nil
}

// MarshalBinary returns m as an IPv6 packet; see AppendBinary.
func (m *NDP) MarshalBinary() ([]byte, error) {
	return m.AppendBinary(make([]byte, 0, ipv6HeaderLen+ndpLen+8))
}

// checksum is the ICMPv6 checksum of msg (its checksum field zero) over the
// IPv6 pseudo-header (RFC 8200 section 8.1).
func checksum(src, dst [16]byte, msg []byte) uint16 {
	var sum uint32
	add := func(p []byte) {
		for i := 0; i+1 < len(p); i += 2 {
			sum += uint32(binary.BigEndian.Uint16(p[i:]))
		}
		if len(p)%2 == 1 {
			sum += uint32(p[len(p)-1]) << 8
		}
	}
	add(src[:])
	add(dst[:])
	sum += uint32(len(msg)) + protoICMPv6
	add(msg)
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
