package arpwire

import (
	"encoding/binary"
	"net/netip"
)

// Operation is an ARP opcode (RFC 826 ar$op).
type Operation uint16

// ARP operations.
const (
	OpRequest Operation = 1
	OpReply   Operation = 2
)

// ARPLen is the length of an ARP message for Ethernet and IPv4.
const ARPLen = 28

// ARP is an RFC 826 ARP message for Ethernet hardware and IPv4 protocol
// addresses. An RFC 5227 probe is a request with SenderIP 0.0.0.0, an
// announcement a request with SenderIP equal to TargetIP.
type ARP struct {
	Op        Operation // any opcode decodes; OpRequest and OpReply are ARP's own
	SenderMAC MAC
	SenderIP  netip.Addr
	TargetMAC MAC
	TargetIP  netip.Addr
}

// UnmarshalBinary decodes the ARP message at the start of b (an Ethernet
// frame's payload; padding after it is ignored). It returns ErrTruncated or
// ErrUnsupportedARP.
func (a *ARP) UnmarshalBinary(b []byte) error {
	// htype(2) ptype(2) hlen(1) plen(1) op(2) sha(6) spa(4) tha(6) tpa(4)
	if len(b) < ARPLen {
		return ErrTruncated
	}
	if binary.BigEndian.Uint16(b[0:2]) != 1 || binary.BigEndian.Uint16(b[2:4]) != EtherTypeIPv4 || b[4] != 6 || b[5] != 4 {
		return ErrUnsupportedARP
	}
	a.Op = Operation(binary.BigEndian.Uint16(b[6:8]))
	a.SenderMAC, a.SenderIP = MAC(b[8:14]), netip.AddrFrom4([4]byte(b[14:18]))
	a.TargetMAC, a.TargetIP = MAC(b[18:24]), netip.AddrFrom4([4]byte(b[24:28]))
	return nil
}

// AppendBinary appends the ARPLen bytes of a to b. It returns
// ErrInvalidAddr unless both IP addresses are IPv4.
func (a *ARP) AppendBinary(b []byte) ([]byte, error) {
	if !a.SenderIP.Is4() || !a.TargetIP.Is4() {
		return b, ErrInvalidAddr
	}
	s, t := a.SenderIP.As4(), a.TargetIP.As4()
	b = append(b, 0, 1, 0x08, 0x00, 6, 4)
	b = binary.BigEndian.AppendUint16(b, uint16(a.Op))
	b = append(b, a.SenderMAC[:]...)
	b = append(b, s[:]...)
	b = append(b, a.TargetMAC[:]...)
	return append(b, t[:]...), nil
}

// MarshalBinary returns the ARPLen bytes of a.
func (a *ARP) MarshalBinary() ([]byte, error) {
	return a.AppendBinary(make([]byte, 0, ARPLen))
}

// AppendRequest appends a broadcast who-has frame to b: an Ethernet header
// from mac to ff:ff:ff:ff:ff:ff and an ARP request for target on behalf of
// (mac, sender), 42 bytes, not padded (see Pad). A sender of 0.0.0.0 makes
// it an RFC 5227 probe.
func AppendRequest(b []byte, mac MAC, sender, target netip.Addr) ([]byte, error) {
	if !sender.Is4() || !target.Is4() {
		return b, ErrInvalidAddr
	}
	f := Frame{Dst: Broadcast, Src: mac, EtherType: EtherTypeARP}
	a := ARP{Op: OpRequest, SenderMAC: mac, SenderIP: sender, TargetIP: target}
	b, _ = f.AppendHeader(b) // cannot fail: no tags
	return a.AppendBinary(b)
}
