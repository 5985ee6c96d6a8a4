// Package analyzetest builds ARP and NDP frames and writes them as pcap or pcapng files for tests.
package analyzetest

import (
	"bufio"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/arpbox/arpbox/internal/arpwire"
	"github.com/arpbox/arpbox/internal/pcapng"
)

// Broadcast is ff:ff:ff:ff:ff:ff.
var Broadcast = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// MAC parses s ("02:00:00:00:00:01") and panics on error: tests only.
func MAC(s string) [6]byte {
	hw, err := net.ParseMAC(s)
	if err != nil || len(hw) != 6 {
		panic("analyzetest: bad MAC " + s)
	}
	return [6]byte(hw)
}

// Frame is one packet to write.
type Frame struct {
	Time time.Time
	Data []byte
}

// Ethernet returns an Ethernet header with optional 802.1Q tags (the first
// one outermost; with two tags or more the outer one is 802.1ad) followed by
// payload. It panics on more than arpwire.MaxTags tags: tests only.
func Ethernet(dst, src [6]byte, etype uint16, payload []byte, vlans ...uint16) []byte {
	f := arpwire.Frame{Dst: dst, Src: src, EtherType: etype, Payload: payload, NumTags: len(vlans)}
	if len(vlans) > arpwire.MaxTags {
		panic("analyzetest: too many VLAN tags")
	}
	for i, v := range vlans {
		f.Tags[i] = arpwire.Tag{TPID: arpwire.TPIDCTag, TCI: v}
		if i == 0 && len(vlans) > 1 {
			f.Tags[i].TPID = arpwire.TPIDSTag
		}
	}
	return must(f.AppendBinary(make([]byte, 0, 14+4*len(vlans)+len(payload))))
}

// must panics on an encoding error: the builders' inputs are the tests'
// own constants.
func must(b []byte, err error) []byte {
	if err != nil {
		panic("analyzetest: " + err.Error())
	}
	return b
}

// ARPBody returns an RFC 826 Ethernet/IPv4 ARP message.
func ARPBody(op uint16, sha [6]byte, spa string, tha [6]byte, tpa string) []byte {
	a := arpwire.ARP{Op: arpwire.Operation(op), SenderMAC: sha, SenderIP: netip.MustParseAddr(spa), TargetMAC: tha, TargetIP: netip.MustParseAddr(tpa)}
	return must(a.MarshalBinary())
}

// Request is a broadcast ARP request from (mac, ip) for target.
func Request(mac [6]byte, ip, target string, vlans ...uint16) []byte {
	return Ethernet(Broadcast, mac, arpwire.EtherTypeARP, ARPBody(1, mac, ip, [6]byte{}, target), vlans...)
}

// UnicastRequest is an ARP request sent to dst's MAC (a cache refresh).
func UnicastRequest(mac [6]byte, ip string, dst [6]byte, target string) []byte {
	return Ethernet(dst, mac, arpwire.EtherTypeARP, ARPBody(1, mac, ip, [6]byte{}, target))
}

// Reply is an ARP reply from (mac, ip) to (dst, dstIP).
func Reply(mac [6]byte, ip string, dst [6]byte, dstIP string, vlans ...uint16) []byte {
	return Ethernet(dst, mac, arpwire.EtherTypeARP, ARPBody(2, mac, ip, dst, dstIP), vlans...)
}

// Gratuitous is a broadcast gratuitous ARP reply for ip.
func Gratuitous(mac [6]byte, ip string) []byte {
	return Ethernet(Broadcast, mac, arpwire.EtherTypeARP, ARPBody(2, mac, ip, Broadcast, ip))
}

// Announcement is an RFC 5227 ARP announcement (request, sender = target).
func Announcement(mac [6]byte, ip string) []byte {
	return Ethernet(Broadcast, mac, arpwire.EtherTypeARP, ARPBody(1, mac, ip, [6]byte{}, ip))
}

// Probe is an RFC 5227 ARP probe for ip (sender IP 0.0.0.0).
func Probe(mac [6]byte, ip string) []byte {
	return Ethernet(Broadcast, mac, arpwire.EtherTypeARP, ARPBody(1, mac, "0.0.0.0", [6]byte{}, ip))
}

// NeighborSolicitation is an IPv6 NS from (mac, src) for target, sent to the
// solicited-node multicast group.
func NeighborSolicitation(mac [6]byte, src, target string) []byte {
	t := netip.MustParseAddr(target)
	t16 := t.As16()
	dst := [16]byte{0: 0xff, 1: 0x02, 11: 1, 12: 0xff, 13: t16[13], 14: t16[14], 15: t16[15]}
	m := arpwire.NDP{Src: netip.MustParseAddr(src), Dst: netip.AddrFrom16(dst), HopLimit: 255,
		Type: arpwire.TypeNeighborSolicitation, Target: t, LinkAddr: mac, HasLinkAddr: true}
	emac := [6]byte{0x33, 0x33, dst[12], dst[13], dst[14], dst[15]}
	return Ethernet(emac, mac, arpwire.EtherTypeIPv6, must(m.MarshalBinary()))
}

// NeighborAdvertisement is a solicited IPv6 NA from (mac, target) to (dst, dstIP).
func NeighborAdvertisement(mac [6]byte, target string, dst [6]byte, dstIP string) []byte {
	t := netip.MustParseAddr(target)
	m := arpwire.NDP{Src: t, Dst: netip.MustParseAddr(dstIP), HopLimit: 255, Type: arpwire.TypeNeighborAdvertisement,
		Solicited: true, Override: true, Target: t, LinkAddr: mac, HasLinkAddr: true}
	return Ethernet(dst, mac, arpwire.EtherTypeIPv6, must(m.MarshalBinary()))
}

// WritePcapNG writes one section with one Ethernet interface (if_tsresol 9,
// nanoseconds) and one enhanced packet block per frame.
func WritePcapNG(w io.Writer, frames []Frame) error {
	pw, err := NewPcapNGWriter(w)
	if err != nil {
		return err
	}
	for _, f := range frames {
		if err := pw.WriteFrame(f.Time, f.Data); err != nil {
			return err
		}
	}
	return pw.Flush()
}

// WritePcap writes a classic microsecond pcap with the given snaplen header
// field (0 is allowed: some writers emit it), through the gopacket fork's
// pcapgo: captures arpbox did not write.
func WritePcap(w io.Writer, snaplen uint32, frames []Frame) error {
	bw := bufio.NewWriter(w)
	pw := pcapgo.NewWriter(bw)
	if err := pw.WriteFileHeader(snaplen, layers.LinkTypeEthernet); err != nil {
		return err
	}
	for _, f := range frames {
		ci := gopacket.CaptureInfo{Timestamp: f.Time, CaptureLength: len(f.Data), Length: len(f.Data)}
		if err := pw.WritePacket(ci, f.Data); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// PcapNGWriter streams frames into a pcapng file (one section, one Ethernet
// interface with nanosecond timestamps) without holding them in memory.
type PcapNGWriter struct{ w *pcapng.Writer }

// NewPcapNGWriter writes the section and interface headers to w.
func NewPcapNGWriter(w io.Writer) (*PcapNGWriter, error) {
	pw := &PcapNGWriter{pcapng.NewWriter(w)}
	if err := pw.w.WriteSection(pcapng.Section{}); err != nil {
		return nil, err
	}
	if _, err := pw.w.WriteInterface(pcapng.Interface{LinkType: pcapng.LinkTypeEthernet}); err != nil {
		return nil, err
	}
	return pw, nil
}

// WriteFrame appends one enhanced packet block.
func (pw *PcapNGWriter) WriteFrame(ts time.Time, data []byte) error {
	return pw.w.WritePacket(0, ts.UnixNano(), len(data), data, "")
}

// Flush writes buffered data.
func (pw *PcapNGWriter) Flush() error { return pw.w.Flush() }
