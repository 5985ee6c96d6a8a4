package analyze

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/arpbox/arpbox/internal/arpwire"
)

// MAC is an Ethernet hardware address. Unlike net.HardwareAddr it is a
// comparable value, so decoding never allocates.
type MAC = arpwire.MAC

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
	LinkEthernet = arpwire.LinkEthernet
	LinkLinuxSLL = arpwire.LinkLinuxSLL
	LinkSLL2     = arpwire.LinkSLL2
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

	why uint32 // detail of a decodeError (see skip.go)
}

// VLANKey packs the VLAN tags into one comparable value (0 = untagged).
func (p *Packet) VLANKey() uint32 { return uint32(p.VLAN[0])<<12 | uint32(p.VLAN[1]) }

// decodeError is the reason a frame was skipped. It is a small value, not an
// allocated error, because most frames in a mixed capture are not ARP. The
// reasons from errLinkType on are frames that may carry neighbor resolution
// the analysis could not read: the report counts them (see skip.go), with
// the detail decode leaves in Packet.why.
type decodeError uint8

const (
	errNone          decodeError = iota
	errShort                     // shorter than its link-layer header
	errNotResolution             // well-formed, and not ARP or NDP
	errBadNDP                    // NDP with a bad code or option
	errLinkType                  // why: the LINKTYPE_*
	errBadARP                    // ARP cut short (why: bytes present)
	errARPType                   // why: hardware type << 16 | protocol type
	errARPOp                     // why: the opcode
	errRARP                      // reverse ARP (EtherType 0x8035)
	errTunnel                    // why: tunnel kind (tunnelVXLAN, …)
	errEncrypted                 // 802.11 protected data frame
	numDecodeErrors
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
	case errARPType:
		return "ARP for other than Ethernet and IPv4"
	case errARPOp:
		return "ARP opcode other than request or reply"
	case errRARP:
		return "RARP"
	case errTunnel:
		return "tunnel not decoded"
	case errEncrypted:
		return "encrypted 802.11 frame"
	}
	return "ok"
}

// wireError sorts an arpwire decoding error into the reasons above.
func wireError(err error) decodeError {
	switch {
	case err == nil:
		return errNone
	case errors.Is(err, arpwire.ErrTruncated):
		return errShort
	case errors.Is(err, arpwire.ErrLinkType):
		return errLinkType
	case errors.Is(err, arpwire.ErrUnsupportedARP):
		return errARPType
	case errors.Is(err, arpwire.ErrMalformedNDP):
		return errBadNDP
	}
	return errNotResolution
}

// Decode decodes one frame captured with the given link type into p. It
// returns an error for anything that is not a well-formed ARP (Ethernet/IPv4)
// or NDP NS/NA message. It never panics and never allocates.
func Decode(link int, frame []byte, p *Packet) error {
	if e := decode(link, frame, p); e != errNone {
		return e
	}
	return nil
}

// decode decodes one frame into p, as decodeWire does. An untagged
// Ethernet ARP request or reply, nearly every frame of an ARP capture, is
// read in place; anything else goes through decodeWire. The two agree on
// every input (TestDecodeFast, FuzzDecode).
func decode(link int, b []byte, p *Packet) decodeError {
	if link == LinkEthernet && len(b) >= 14+arpwire.ARPLen && b[12] == 0x08 && b[13] == 0x06 {
		// hardware type 1 (Ethernet), protocol 0x0800 (IPv4), lengths 6 and
		// 4, operation 1 (request) or 2 (reply)
		if a := b[14 : 14+arpwire.ARPLen]; a[0] == 0 && a[1] == 1 && a[2] == 0x08 && a[3] == 0x00 &&
			a[4] == 6 && a[5] == 4 && a[6] == 0 && (a[7] == 1 || a[7] == 2) {
			// Field by field: a composite literal is built on the stack
			// and copied, and that copy's loads wait on the stores just
			// made (a store-forwarding stall per packet).
			p.Proto, p.Op, p.Solicited = ProtoARP, OpRequest, false
			if a[7] == 2 {
				p.Op, p.Solicited = OpReply, true
			}
			p.EthDst, p.EthSrc = MAC(b[0:6]), MAC(b[6:12])
			p.VLAN, p.Tags = [2]uint16{}, 0
			p.SenderMAC, p.TargetMAC = MAC(a[8:14]), MAC(a[18:24])
			p.SenderIP = netip.AddrFrom4([4]byte(a[14:18]))
			p.TargetIP = netip.AddrFrom4([4]byte(a[24:28]))
			p.NoSenderMAC, p.Broadcast, p.why = false, b[0]&1 == 1, 0
			return errNone
		}
	}
	return decodeWire(link, b, p)
}

// decodeWire reads the frame with arpwire and maps it onto Packet: the link
// layer, then an ARP request or reply, or an NDP solicitation or
// advertisement in ARP terms. Link types arpwire does not know (802.11,
// IPoIB, raw IP, loopback) and what Ethernet may wrap ARP in (LLC/SNAP,
// VXLAN, Geneve, GRE/ERSPAN, MPLS) are in outer.go.
func decodeWire(link int, b []byte, p *Packet) decodeError {
	*p = Packet{}
	return decodeLink(link, b, p, 0)
}

// decodeLink decodes a frame of the given link type; depth counts the
// tunnels it is inside.
func decodeLink(link int, b []byte, p *Packet, depth int) decodeError {
	switch link {
	case LinkEthernet, LinkLinuxSLL, LinkSLL2:
	default:
		return decodeOtherLink(link, b, p, depth)
	}
	var f arpwire.Frame
	if err := arpwire.DecodeFrame(link, b, &f); err != nil {
		if e := wireError(err); e != errLinkType {
			return e
		}
		p.why = uint32(link)
		return errLinkType
	}
	p.EthDst, p.EthSrc, p.Broadcast = f.Dst, f.Src, f.Group
	for i := range min(f.NumTags, 2) {
		p.VLAN[i] = f.Tags[i].VID()
	}
	p.Tags = uint8(min(f.NumTags, 255))
	return decodeEtherType(link, f.EtherType, f.Payload, p, depth)
}

// decodeEtherType decodes what follows an EtherType (or, for a cooked
// capture, its protocol field).
func decodeEtherType(link int, et uint16, b []byte, p *Packet, depth int) decodeError {
	switch {
	case et == arpwire.EtherTypeARP:
		return decodeARP(b, p)
	case et == arpwire.EtherTypeIPv6:
		// An IPv6 packet cut short is not known to be NDP: not counted.
		if e := decodeNDP(b, p); e != errNotResolution && e != errShort {
			return e
		}
		return decodeIP(b, p, depth)
	case et == arpwire.EtherTypeIPv4:
		return decodeIP(b, p, depth)
	case et == etherTypeRARP:
		return errRARP
	case et == etherTypeMPLS || et == etherTypeMPLSMulti:
		return decodeMPLS(b, p, depth)
	case et == etherTypePBB:
		// IEEE 802.1ah: a 4-byte I-TAG, then the customer's frame.
		if len(b) < 4 {
			return errShort
		}
		return tunnel(tunnelPBB, b[4:], p, depth)
	case et <= 1500 && link == LinkEthernet, et == sllProtoLLC && link != LinkEthernet:
		// An IEEE 802.3 length field, or a cooked capture's ETH_P_802_2:
		// an 802.2 LLC header follows.
		return decodeLLC(link, b, p, depth)
	}
	return errNotResolution
}

// decodeARP decodes an ARP message: Ethernet or IEEE 802 hardware (6-byte
// addresses) with IPv4, or InfiniBand hardware (RFC 4391: 20-byte
// addresses, folded to 6 bytes, see ibMAC).
func decodeARP(b []byte, p *Packet) decodeError {
	if len(b) < 8 {
		p.why = uint32(len(b))
		return errBadARP
	}
	htype, ptype := uint16(b[0])<<8|uint16(b[1]), uint16(b[2])<<8|uint16(b[3])
	hlen, plen := int(b[4]), int(b[5])
	ok := ptype == arpwire.EtherTypeIPv4 && plen == 4 &&
		((htype == arpHWEthernet || htype == arpHWIEEE802) && hlen == 6 || htype == arpHWInfiniBand && hlen == 20)
	if !ok {
		p.why = uint32(htype)<<16 | uint32(ptype)
		return errARPType
	}
	if n := 8 + 2*hlen + 2*plen; len(b) < n {
		p.why = uint32(len(b))
		return errBadARP
	}
	op := uint16(b[6])<<8 | uint16(b[7])
	switch op {
	case uint16(arpwire.OpRequest):
		p.Op = OpRequest
	case uint16(arpwire.OpReply):
		p.Op = OpReply
		p.Solicited = true
	default:
		p.why = uint32(op)
		return errARPOp
	}
	p.Proto = ProtoARP
	hw := func(a []byte) MAC {
		if len(a) == 20 {
			return ibMAC(a)
		}
		return MAC(a)
	}
	sha, spa := b[8:8+hlen], b[8+hlen:12+hlen]
	tha, tpa := b[12+hlen:12+2*hlen], b[12+2*hlen:16+2*hlen]
	p.SenderMAC, p.SenderIP = hw(sha), netip.AddrFrom4([4]byte(spa))
	p.TargetMAC, p.TargetIP = hw(tha), netip.AddrFrom4([4]byte(tpa))
	return errNone
}

func decodeNDP(b []byte, p *Packet) decodeError {
	var m arpwire.NDP
	if err := m.UnmarshalBinary(b); err != nil {
		return wireError(err)
	}
	p.Proto = ProtoNDP
	p.SenderMAC = m.LinkAddr
	if !m.HasLinkAddr {
		p.SenderMAC = p.EthSrc
		p.NoSenderMAC = true
	}
	if m.Type == arpwire.TypeNeighborSolicitation {
		p.Op = OpRequest
		p.SenderIP = m.Src // :: for duplicate address detection
		p.TargetIP = m.Target
		p.Broadcast = p.Broadcast || m.Dst.IsMulticast()
		return errNone
	}
	p.Op = OpReply
	p.Solicited = m.Solicited
	p.SenderIP = m.Target
	p.TargetIP = m.Dst
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

// LinkDecoded reports whether Decode reads frames of a link type
// (LINKTYPE_*): replay records what the report reads, no more, no less.
func LinkDecoded(link int) bool {
	var p Packet
	return decode(link, nil, &p) != errLinkType
}
