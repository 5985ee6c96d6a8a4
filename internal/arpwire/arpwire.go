// Package arpwire decodes and encodes the ARP and NDP frames arpbox records.
//
// It covers:
//   - RFC 826: ARP for Ethernet hardware and IPv4 protocol addresses
//     (ARP, Operation);
//   - RFC 5227: ARP probes (a request with sender IP 0.0.0.0) and
//     announcements (a request with sender IP = target IP) are ordinary ARP
//     requests on the wire and decode as such; telling them apart is the
//     reader's business;
//   - RFC 4861: IPv6 neighbor solicitations and advertisements with their
//     source and target link-layer address options (NDP); other NDP messages
//     (router solicitation and advertisement, redirect) are recognised by type
//     but not decoded, since the analyzer does not use them;
//   - Ethernet II framing with any number of stacked IEEE 802.1Q (C-tag,
//     TPID 0x8100) and IEEE 802.1ad (S-tag, TPID 0x88a8, and the older QinQ
//     TPID 0x9100) VLAN tags (Frame, Tag), and the Linux cooked capture
//     headers SLL and SLL2 that pcap files of "any" interfaces use.
//
// Decoding never allocates and never panics: a frame is decoded into a
// caller's value, which keeps a slice into the frame (Frame.Payload) but
// copies every address. Encoding appends to a caller's buffer. Errors are
// the sentinels below, returned unwrapped so that a decoder in a hot loop
// costs no allocation; compare them with errors.Is.
package arpwire

import (
	"errors"
)

// Errors returned by the decoders and encoders.
var (
	// ErrTruncated: the bytes end before a header or message does.
	ErrTruncated = errors.New("arpwire: truncated")
	// ErrLinkType: DecodeFrame does not know the capture's link type.
	ErrLinkType = errors.New("arpwire: unsupported link type")
	// ErrUnsupportedARP: an ARP message for other than Ethernet hardware
	// (type 1, 6-byte addresses) and IPv4 (0x0800, 4-byte addresses).
	ErrUnsupportedARP = errors.New("arpwire: ARP for other than Ethernet and IPv4")
	// ErrNotNDP: an IPv6 packet that is not an ICMPv6 neighbor solicitation
	// or advertisement (within a few extension headers).
	ErrNotNDP = errors.New("arpwire: not an NDP neighbor solicitation or advertisement")
	// ErrMalformedNDP: a neighbor solicitation or advertisement with a
	// non-zero code or an option whose length is zero or runs past the end.
	ErrMalformedNDP = errors.New("arpwire: malformed NDP message")
	// ErrInvalidTag: an encoder was given more than MaxTags VLAN tags, a
	// tag whose TPID is not a VLAN TPID, or an EtherType that is a VLAN TPID
	// (a decoder would read it as another tag).
	ErrInvalidTag = errors.New("arpwire: invalid VLAN tag")
	// ErrInvalidAddr: an encoder was given an address of the wrong family
	// (ARP needs IPv4, NDP IPv6).
	ErrInvalidAddr = errors.New("arpwire: invalid address")
)

// MAC is an Ethernet hardware address. Unlike net.HardwareAddr it is a
// comparable value, so decoding never allocates.
type MAC [6]byte

// Broadcast is the Ethernet broadcast address ff:ff:ff:ff:ff:ff.
var Broadcast = MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

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
