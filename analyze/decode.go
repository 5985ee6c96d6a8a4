package analyze

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// MAC is an Ethernet hardware address. Unlike net.HardwareAddr it is a
// comparable value, so decoding never allocates.
type MAC [6]byte

// String formats m as "02:ab:00:00:01:02".
func (m MAC) String() string {
	const hex = "0123456789abcdef"
	b := make([]byte, 0, 17)
	for i, x := range m {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, hex[x>>4], hex[x&0xf])
	}
	return string(b)
}

// IsZero reports whether m is 00:00:00:00:00:00.
func (m MAC) IsZero() bool { return m == MAC{} }

// IsGroup reports whether m is a broadcast or multicast address.
func (m MAC) IsGroup() bool { return m[0]&1 == 1 }

// Proto is the resolution protocol a packet belongs to.
type Proto uint8

// Protocols.
const (
	ProtoARP Proto = iota + 1 // RFC 826
	ProtoNDP                  // RFC 4861 neighbor solicitation / advertisement
)

func (p Proto) String() string {
	switch p {
	case ProtoARP:
		return "ARP"
	case ProtoNDP:
		return "NDP"
	}
	return "?"
}

// Op says whether a packet asks (ARP request, NDP neighbor solicitation) or
// answers (ARP reply, NDP neighbor advertisement).
type Op uint8

// Operations.
const (
	OpRequest Op = iota + 1
	OpReply
)

// Link-layer header types (pcap LINKTYPE_*) the decoder understands.
const (
	LinkEthernet = 1
	LinkLinuxSLL = 113
	LinkSLL2     = 276
)

// Packet is one decoded ARP or NDP message. It holds no references to the
// frame it was decoded from.
//
// For NDP the fields are mapped onto ARP terms: a neighbor solicitation asks
// "who has TargetIP" on behalf of SenderIP (the IPv6 source, :: for duplicate
// address detection); a neighbor advertisement answers for SenderIP (the NA
// target address) with SenderMAC (the target link-layer option, or the
// Ethernet source when the option is absent), addressed to TargetIP (the IPv6
// destination).
type Packet struct {
	Proto     Proto
	Op        Op
	EthSrc    MAC
	EthDst    MAC // zero for Linux cooked captures, which do not record it
	VLAN      [2]uint16
	Tags      uint8 // number of 802.1Q/802.1ad tags seen (VLAN holds the first two)
	SenderMAC MAC
	SenderIP  netip.Addr
	TargetMAC MAC
	TargetIP  netip.Addr
	// NoSenderMAC is set for NDP messages without a link-layer address option.
	NoSenderMAC bool
	// Solicited is the NDP advertisement S flag (always true for ARP replies).
	Solicited bool
	// Broadcast is true when the frame went to a group address (or, for
	// cooked captures, when the kernel said so).
	Broadcast bool
}

// VLANKey packs the VLAN tags into one comparable value (0 = untagged).
func (p *Packet) VLANKey() uint32 { return uint32(p.VLAN[0])<<12 | uint32(p.VLAN[1]) }

// decodeError is the reason a frame was skipped. It is a small value, not an
// allocated error, because most frames in a mixed capture are not ARP.
type decodeError uint8

const (
	errNone decodeError = iota
	errShort
	errNotResolution
	errBadARP
	errBadNDP
	errLinkType
)

func (e decodeError) Error() string {
	switch e {
	case errShort:
		return "frame too short"
	case errNotResolution:
		return "not ARP or NDP"
	case errBadARP:
		return "malformed ARP"
	case errBadNDP:
		return "malformed NDP"
	case errLinkType:
		return "unsupported link type"
	}
	return "ok"
}

const (
	etherTypeARP   = 0x0806
	etherTypeIPv6  = 0x86dd
	etherTypeVLAN  = 0x8100
	etherTypeQinQ  = 0x88a8
	etherTypeQ9100 = 0x9100
)

// Decode decodes one frame captured with the given link type into p. It
// returns an error for anything that is not a well-formed ARP (Ethernet/IPv4)
// or NDP NS/NA message. It never panics and never allocates.
func Decode(link int, frame []byte, p *Packet) error {
	if e := decode(link, frame, p); e != errNone {
		return e
	}
	return nil
}

func decode(link int, b []byte, p *Packet) decodeError {
	*p = Packet{}
	var etype uint16
	switch link {
	case LinkEthernet:
		if len(b) < 14 {
			return errShort
		}
		copy(p.EthDst[:], b[0:6])
		copy(p.EthSrc[:], b[6:12])
		p.Broadcast = p.EthDst.IsGroup()
		etype = binary.BigEndian.Uint16(b[12:14])
		b = b[14:]
	case LinkLinuxSLL:
		// pkttype(2) hatype(2) halen(2) addr(8) protocol(2)
		if len(b) < 16 {
			return errShort
		}
		pt := binary.BigEndian.Uint16(b[0:2])
		p.Broadcast = pt == 1 || pt == 2
		if binary.BigEndian.Uint16(b[4:6]) == 6 {
			copy(p.EthSrc[:], b[6:12])
		}
		etype = binary.BigEndian.Uint16(b[14:16])
		b = b[16:]
	case LinkSLL2:
		// protocol(2) reserved(2) ifindex(4) hatype(2) pkttype(1) halen(1) addr(8)
		if len(b) < 20 {
			return errShort
		}
		etype = binary.BigEndian.Uint16(b[0:2])
		p.Broadcast = b[10] == 1 || b[10] == 2
		if b[11] == 6 {
			copy(p.EthSrc[:], b[12:18])
		}
		b = b[20:]
	default:
		return errLinkType
	}
	for etype == etherTypeVLAN || etype == etherTypeQinQ || etype == etherTypeQ9100 {
		if len(b) < 4 {
			return errShort
		}
		if p.Tags < 2 {
			p.VLAN[p.Tags] = binary.BigEndian.Uint16(b[0:2]) & 0x0fff
		}
		if p.Tags < 255 {
			p.Tags++
		}
		etype = binary.BigEndian.Uint16(b[2:4])
		b = b[4:]
	}
	switch etype {
	case etherTypeARP:
		return decodeARP(b, p)
	case etherTypeIPv6:
		return decodeNDP(b, p)
	}
	return errNotResolution
}

func decodeARP(b []byte, p *Packet) decodeError {
	// htype(2) ptype(2) hlen(1) plen(1) op(2) sha(6) spa(4) tha(6) tpa(4)
	if len(b) < 28 {
		return errShort
	}
	if binary.BigEndian.Uint16(b[0:2]) != 1 || binary.BigEndian.Uint16(b[2:4]) != 0x0800 || b[4] != 6 || b[5] != 4 {
		return errBadARP
	}
	switch binary.BigEndian.Uint16(b[6:8]) {
	case 1:
		p.Op = OpRequest
	case 2:
		p.Op = OpReply
		p.Solicited = true
	default:
		return errBadARP
	}
	p.Proto = ProtoARP
	copy(p.SenderMAC[:], b[8:14])
	p.SenderIP = netip.AddrFrom4([4]byte(b[14:18]))
	copy(p.TargetMAC[:], b[18:24])
	p.TargetIP = netip.AddrFrom4([4]byte(b[24:28]))
	return errNone
}

func decodeNDP(b []byte, p *Packet) decodeError {
	if len(b) < 40 {
		return errShort
	}
	if b[0]>>4 != 6 {
		return errNotResolution
	}
	next := b[6]
	src := netip.AddrFrom16([16]byte(b[8:24]))
	dst := netip.AddrFrom16([16]byte(b[24:40]))
	b = b[40:]
	// Skip a bounded number of extension headers (hop-by-hop, routing,
	// destination options); NDP normally has none.
	for i := 0; i < 4 && (next == 0 || next == 43 || next == 60); i++ {
		if len(b) < 8 {
			return errShort
		}
		n := 8 + int(b[1])*8
		if len(b) < n {
			return errShort
		}
		next = b[0]
		b = b[n:]
	}
	if next != 58 || len(b) < 24 {
		return errNotResolution
	}
	typ := b[0]
	if typ != 135 && typ != 136 {
		return errNotResolution
	}
	if b[1] != 0 {
		return errBadNDP
	}
	target := netip.AddrFrom16([16]byte(b[8:24]))
	var lladdr MAC
	found := false
	want := byte(1) // source link-layer address in NS
	if typ == 136 {
		want = 2 // target link-layer address in NA
	}
	for opts := b[24:]; len(opts) >= 2; {
		n := int(opts[1]) * 8
		if n == 0 || n > len(opts) {
			return errBadNDP
		}
		if opts[0] == want && n >= 8 && !found {
			copy(lladdr[:], opts[2:8])
			found = true
		}
		opts = opts[n:]
	}
	p.Proto = ProtoNDP
	if !found {
		lladdr = p.EthSrc
		p.NoSenderMAC = true
	}
	p.SenderMAC = lladdr
	if typ == 135 {
		p.Op = OpRequest
		p.SenderIP = src // :: for duplicate address detection
		p.TargetIP = target
		p.Broadcast = p.Broadcast || dst.IsMulticast()
		return errNone
	}
	p.Op = OpReply
	p.Solicited = b[4]&0x40 != 0
	p.SenderIP = target
	p.TargetIP = dst
	return errNone
}

// Kind classifies a decoded packet the way the report talks about it.
type Kind uint8

// Kinds of resolution packets.
const (
	KindRequest         Kind = iota + 1 // ordinary request / solicitation
	KindReply                           // ordinary reply / solicited advertisement
	KindProbe                           // RFC 5227 probe (sender IP 0.0.0.0) or NDP DAD (source ::)
	KindAnnouncement                    // gratuitous request (sender IP = target IP), RFC 5227 announcement
	KindGratuitousReply                 // gratuitous reply (sender IP = target IP) or unsolicited NA
)

func (k Kind) String() string {
	switch k {
	case KindRequest:
		return "request"
	case KindReply:
		return "reply"
	case KindProbe:
		return "probe"
	case KindAnnouncement:
		return "announcement"
	case KindGratuitousReply:
		return "gratuitous reply"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Kind classifies p.
func (p *Packet) Kind() Kind {
	if p.Op == OpRequest {
		switch {
		case p.SenderIP.IsUnspecified():
			return KindProbe
		case p.SenderIP == p.TargetIP:
			return KindAnnouncement
		}
		return KindRequest
	}
	if p.Proto == ProtoNDP {
		if !p.Solicited {
			return KindGratuitousReply
		}
		return KindReply
	}
	if p.SenderIP == p.TargetIP {
		return KindGratuitousReply
	}
	return KindReply
}
