package arpwire

import "encoding/binary"

// Link-layer header types (pcap LINKTYPE_*) DecodeFrame understands.
const (
	LinkEthernet = 1   // Ethernet II
	LinkLinuxSLL = 113 // Linux cooked capture v1
	LinkSLL2     = 276 // Linux cooked capture v2
)

// EtherTypes and VLAN tag protocol identifiers.
const (
	EtherTypeIPv4 = 0x0800
	EtherTypeARP  = 0x0806
	EtherTypeIPv6 = 0x86dd

	TPIDCTag = 0x8100 // IEEE 802.1Q customer VLAN tag
	TPIDSTag = 0x88a8 // IEEE 802.1ad service VLAN tag
	TPIDQinQ = 0x9100 // pre-standard QinQ outer tag
)

// MinFrameLen is the shortest Ethernet frame, without its frame check
// sequence. See Pad.
const MinFrameLen = 60

// Tag is one VLAN tag.
type Tag struct {
	TPID uint16 // TPIDCTag, TPIDSTag or TPIDQinQ
	TCI  uint16 // priority (3 bits), drop eligible (1 bit), VLAN ID (12 bits)
}

// VID is the tag's 12-bit VLAN identifier.
func (t Tag) VID() uint16 { return t.TCI & 0x0fff }

func isTPID(v uint16) bool { return v == TPIDCTag || v == TPIDSTag || v == TPIDQinQ }

// MaxTags is the number of VLAN tags a Frame holds. A frame with more
// decodes (NumTags counts them all) but cannot be encoded again.
const MaxTags = 8

// Frame is the link layer of one frame: addresses, VLAN tags, and the
// EtherType and payload that follow them.
type Frame struct {
	// Dst and Src are the Ethernet addresses. Cooked captures record no
	// destination (Dst stays zero) and record the source only when it is
	// a 6-byte address.
	Dst, Src MAC
	// Group is set when the frame went to a broadcast or multicast address:
	// Dst's group bit, or for cooked captures the kernel's packet type.
	// Encoding ignores it.
	Group bool
	// NumTags is the number of VLAN tags between the addresses and the
	// EtherType; Tags holds the outermost min(NumTags, MaxTags) of them,
	// outermost first.
	NumTags int
	Tags    [MaxTags]Tag
	// EtherType is the type after the last tag (EtherTypeARP, EtherTypeIPv6, …).
	EtherType uint16
	// Payload is everything after the EtherType, including any Ethernet
	// padding (and a frame check sequence, if the capture kept it).
	Payload []byte
}

// DecodeFrame decodes the link layer of frame, captured with the given link
// type (LinkEthernet, LinkLinuxSLL or LinkSLL2), into f, walking any number
// of stacked 802.1Q/802.1ad tags. f.Payload points into frame. It returns
// ErrLinkType or ErrTruncated; it does not look at the EtherType.
func DecodeFrame(link int, frame []byte, f *Frame) error {
	*f = Frame{}
	b := frame
	switch link {
	case LinkEthernet:
		if len(b) < 14 {
			return ErrTruncated
		}
		f.Dst, f.Src = MAC(b[0:6]), MAC(b[6:12])
		f.Group = f.Dst.IsGroup()
		f.EtherType = binary.BigEndian.Uint16(b[12:14])
		b = b[14:]
	case LinkLinuxSLL:
		// packet type(2) ARPHRD type(2) address length(2) address(8) protocol(2)
		if len(b) < 16 {
			return ErrTruncated
		}
		pt := binary.BigEndian.Uint16(b[0:2])
		f.Group = pt == 1 || pt == 2 // PACKET_BROADCAST, PACKET_MULTICAST
		if binary.BigEndian.Uint16(b[4:6]) == 6 {
			f.Src = MAC(b[6:12])
		}
		f.EtherType = binary.BigEndian.Uint16(b[14:16])
		b = b[16:]
	case LinkSLL2:
		// protocol(2) reserved(2) ifindex(4) ARPHRD type(2) packet type(1)
		// address length(1) address(8)
		if len(b) < 20 {
			return ErrTruncated
		}
		f.EtherType = binary.BigEndian.Uint16(b[0:2])
		f.Group = b[10] == 1 || b[10] == 2
		if b[11] == 6 {
			f.Src = MAC(b[12:18])
		}
		b = b[20:]
	default:
		return ErrLinkType
	}
	// Each tag is the TPID just read, then TCI(2) and the next type(2).
	for isTPID(f.EtherType) {
		if len(b) < 4 {
			return ErrTruncated
		}
		if f.NumTags < MaxTags {
			f.Tags[f.NumTags] = Tag{TPID: f.EtherType, TCI: binary.BigEndian.Uint16(b[0:2])}
		}
		f.NumTags++
		f.EtherType = binary.BigEndian.Uint16(b[2:4])
		b = b[4:]
	}
	f.Payload = b
	return nil
}

// AppendHeader appends f's Ethernet header — addresses, tags, EtherType —
// to b. It returns ErrInvalidTag if the tags are not a well-formed stack or
// the EtherType is itself a TPID: more than MaxTags tags, or a tag whose
// TPID is not a VLAN TPID.
func (f *Frame) AppendHeader(b []byte) ([]byte, error) {
	if f.NumTags < 0 || f.NumTags > MaxTags || isTPID(f.EtherType) {
		return b, ErrInvalidTag
	}
	for _, t := range f.Tags[:f.NumTags] {
		if !isTPID(t.TPID) {
			return b, ErrInvalidTag
		}
	}
	b = append(b, f.Dst[:]...)
	b = append(b, f.Src[:]...)
	for _, t := range f.Tags[:f.NumTags] {
		b = binary.BigEndian.AppendUint16(b, t.TPID)
		b = binary.BigEndian.AppendUint16(b, t.TCI)
	}
	return binary.BigEndian.AppendUint16(b, f.EtherType), nil
}

// AppendBinary appends f as an Ethernet frame (header and payload, no
// padding; see Pad) to b.
func (f *Frame) AppendBinary(b []byte) ([]byte, error) {
	b, err := f.AppendHeader(b)
	if err != nil {
		return b, err
	}
	return append(b, f.Payload...), nil
}

// Pad extends frame with zeros to MinFrameLen, as a NIC that does not pad
// short frames itself needs.
func Pad(frame []byte) []byte {
	for len(frame) < MinFrameLen {
		frame = append(frame, 0)
	}
	return frame
}
