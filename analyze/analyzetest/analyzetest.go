// Package analyzetest builds ARP and NDP frames and writes them as pcap or pcapng files for tests.
package analyzetest

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"time"

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
// one outermost; with two tags the outer one is 802.1ad) followed by payload.
func Ethernet(dst, src [6]byte, etype uint16, payload []byte, vlans ...uint16) []byte {
	b := make([]byte, 0, 14+4*len(vlans)+len(payload))
	b = append(b, dst[:]...)
	b = append(b, src[:]...)
	for i, v := range vlans {
		tpid := uint16(0x8100)
		if i == 0 && len(vlans) > 1 {
			tpid = 0x88a8
		}
		b = binary.BigEndian.AppendUint16(b, tpid)
		b = binary.BigEndian.AppendUint16(b, v)
	}
	b = binary.BigEndian.AppendUint16(b, etype)
	return append(b, payload...)
}

// ARPBody returns an RFC 826 Ethernet/IPv4 ARP message.
func ARPBody(op uint16, sha [6]byte, spa string, tha [6]byte, tpa string) []byte {
	b := []byte{0, 1, 8, 0, 6, 4}
	b = binary.BigEndian.AppendUint16(b, op)
	s, t := netip.MustParseAddr(spa).As4(), netip.MustParseAddr(tpa).As4()
	b = append(b, sha[:]...)
	b = append(b, s[:]...)
	b = append(b, tha[:]...)
	b = append(b, t[:]...)
	return b
}

// Request is a broadcast ARP request from (mac, ip) for target.
func Request(mac [6]byte, ip, target string, vlans ...uint16) []byte {
	return Ethernet(Broadcast, mac, 0x0806, ARPBody(1, mac, ip, [6]byte{}, target), vlans...)
}

// UnicastRequest is an ARP request sent to dst's MAC (a cache refresh).
func UnicastRequest(mac [6]byte, ip string, dst [6]byte, target string) []byte {
	return Ethernet(dst, mac, 0x0806, ARPBody(1, mac, ip, [6]byte{}, target))
}

// Reply is an ARP reply from (mac, ip) to (dst, dstIP).
func Reply(mac [6]byte, ip string, dst [6]byte, dstIP string, vlans ...uint16) []byte {
	return Ethernet(dst, mac, 0x0806, ARPBody(2, mac, ip, dst, dstIP), vlans...)
}

// Gratuitous is a broadcast gratuitous ARP reply for ip.
func Gratuitous(mac [6]byte, ip string) []byte {
	return Ethernet(Broadcast, mac, 0x0806, ARPBody(2, mac, ip, Broadcast, ip))
}

// Announcement is an RFC 5227 ARP announcement (request, sender = target).
func Announcement(mac [6]byte, ip string) []byte {
	return Ethernet(Broadcast, mac, 0x0806, ARPBody(1, mac, ip, [6]byte{}, ip))
}

// Probe is an RFC 5227 ARP probe for ip (sender IP 0.0.0.0).
func Probe(mac [6]byte, ip string) []byte {
	return Ethernet(Broadcast, mac, 0x0806, ARPBody(1, mac, "0.0.0.0", [6]byte{}, ip))
}

// NeighborSolicitation is an IPv6 NS from (mac, src) for target, sent to the
// solicited-node multicast group.
func NeighborSolicitation(mac [6]byte, src, target string) []byte {
	t := netip.MustParseAddr(target).As16()
	dst := [16]byte{0xff, 0x02, 15: 0}
	dst[11], dst[12], dst[13], dst[14], dst[15] = 1, 0xff, t[13], t[14], t[15]
	body := make([]byte, 0, 32)
	body = append(body, 135, 0, 0, 0, 0, 0, 0, 0)
	body = append(body, t[:]...)
	body = append(body, 1, 1)
	body = append(body, mac[:]...)
	emac := [6]byte{0x33, 0x33, dst[12], dst[13], dst[14], dst[15]}
	return Ethernet(emac, mac, 0x86dd, ipv6(netip.MustParseAddr(src).As16(), dst, body))
}

// NeighborAdvertisement is a solicited IPv6 NA from (mac, target) to (dst, dstIP).
func NeighborAdvertisement(mac [6]byte, target string, dst [6]byte, dstIP string) []byte {
	t := netip.MustParseAddr(target).As16()
	body := make([]byte, 0, 32)
	body = append(body, 136, 0, 0, 0, 0x60, 0, 0, 0)
	body = append(body, t[:]...)
	body = append(body, 2, 1)
	body = append(body, mac[:]...)
	return Ethernet(dst, mac, 0x86dd, ipv6(t, netip.MustParseAddr(dstIP).As16(), body))
}

func ipv6(src, dst [16]byte, icmp []byte) []byte {
	b := []byte{0x60, 0, 0, 0}
	b = binary.BigEndian.AppendUint16(b, uint16(len(icmp)))
	b = append(b, 58, 255)
	b = append(b, src[:]...)
	b = append(b, dst[:]...)
	// ICMPv6 checksum over the pseudo-header.
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
	sum += uint32(len(icmp)) + 58
	add(icmp)
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	c := append([]byte(nil), icmp...)
	binary.BigEndian.PutUint16(c[2:], ^uint16(sum))
	return append(b, c...)
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
// field (0 is allowed: some writers emit it).
func WritePcap(w io.Writer, snaplen uint32, frames []Frame) error {
	bw := bufio.NewWriter(w)
	le := binary.LittleEndian
	h := le.AppendUint32(nil, 0xa1b2c3d4)
	h = le.AppendUint16(h, 2)
	h = le.AppendUint16(h, 4)
	h = le.AppendUint32(h, 0)
	h = le.AppendUint32(h, 0)
	h = le.AppendUint32(h, snaplen)
	h = le.AppendUint32(h, 1)
	bw.Write(h)
	for _, f := range frames {
		r := le.AppendUint32(nil, uint32(f.Time.Unix()))
		r = le.AppendUint32(r, uint32(f.Time.Nanosecond()/1000))
		r = le.AppendUint32(r, uint32(len(f.Data)))
		r = le.AppendUint32(r, uint32(len(f.Data)))
		bw.Write(r)
		bw.Write(f.Data)
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
