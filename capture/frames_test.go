package capture

import (
	"encoding/binary"
	"net"
)

// Crafted frames for filter and fill tests.

var (
	testSrcMAC = net.HardwareAddr{0x02, 0xab, 0, 0, 0, 1}
	testBcast  = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
)

// ether builds an Ethernet frame: MACs, then each tag (TPID, TCI) in the
// bytes, then the EtherType and payload.
func ether(etherType uint16, payload []byte, tags ...[2]uint16) []byte {
	b := append([]byte{}, testBcast...)
	b = append(b, testSrcMAC...)
	for _, t := range tags {
		b = binary.BigEndian.AppendUint16(b, t[0])
		b = binary.BigEndian.AppendUint16(b, t[1])
	}
	b = binary.BigEndian.AppendUint16(b, etherType)
	return append(b, payload...)
}

// arpPayload is an ARP request: who has tpa? tell spa.
func arpPayload(spa, tpa [4]byte) []byte {
	b := []byte{0, 1, 8, 0, 6, 4, 0, 1}
	b = append(b, testSrcMAC...)
	b = append(b, spa[:]...)
	b = append(b, 0, 0, 0, 0, 0, 0)
	return append(b, tpa[:]...)
}

func arpFrame(tags ...[2]uint16) []byte {
	return ether(etherTypeARP, arpPayload([4]byte{10, 201, 0, 1}, [4]byte{10, 201, 0, 2}), tags...)
}

// ipv6Payload is an IPv6 header with next header nh, then an ICMPv6
// message of the given type (or other bytes if nh is not 58).
func ipv6Payload(nh, icmpType byte) []byte {
	b := make([]byte, 40+24)
	b[0] = 0x60
	binary.BigEndian.PutUint16(b[4:], 24)
	b[6] = nh
	b[7] = 255
	b[8], b[23] = 0xfe, 1
	b[24], b[39] = 0xff, 1
	b[40] = icmpType
	return b
}

func ipv4UDPPayload() []byte {
	b := make([]byte, 20+8+4)
	b[0] = 0x45
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	b[8], b[9] = 64, 17
	copy(b[12:], []byte{10, 201, 0, 1, 10, 201, 0, 2})
	binary.BigEndian.PutUint16(b[20:], 9999)
	binary.BigEndian.PutUint16(b[22:], 9)
	binary.BigEndian.PutUint16(b[24:], 12)
	return b
}

var (
	tagQ   = [2]uint16{etherType8021Q, 5}
	tagAD  = [2]uint16{etherTypeQinQ, 7}
	tag91  = [2]uint16{etherType9100, 9}
	tagPCP = [2]uint16{etherType8021Q, 0xa00c} // priority 5, VLAN 12
)

// testFrame is one crafted frame and what each built-in filter says.
type testFrame struct {
	name          string
	data          []byte
	arp, ndp      bool
	tcpdumpDiffer bool // tcpdump's "vlan" looks through one tag only
}

func testFrames() []testFrame {
	ns := ipv6Payload(protoICMPv6, icmp6NS)
	na := ipv6Payload(protoICMPv6, icmp6NA)
	arp := arpFrame()
	return []testFrame{
		{name: "arp", data: arp, arp: true},
		{name: "arp padded to 60", data: append(append([]byte{}, arp...), make([]byte, 60-len(arp))...), arp: true},
		{name: "arp 802.1Q", data: arpFrame(tagQ), arp: true},
		{name: "arp 802.1Q priority", data: arpFrame(tagPCP), arp: true},
		{name: "arp 802.1ad", data: arpFrame(tagAD), arp: true},
		{name: "arp 0x9100", data: arpFrame(tag91), arp: true},
		{name: "arp QinQ", data: arpFrame(tagAD, tagQ), arp: true, tcpdumpDiffer: true},
		{name: "arp three tags", data: arpFrame(tagAD, tagQ, tagQ)},
		{name: "arp header only", data: ether(etherTypeARP, nil), arp: true},
		{name: "ipv4 udp", data: ether(0x0800, ipv4UDPPayload())},
		{name: "ipv4 udp 802.1Q", data: ether(0x0800, ipv4UDPPayload(), tagQ)},
		{name: "ipv4 total length 0x0806", data: func() []byte {
			p := ipv4UDPPayload()
			binary.BigEndian.PutUint16(p[2:], etherTypeARP)
			return ether(0x0800, p)
		}()},
		{name: "ndp ns", data: ether(etherTypeIPv6, ns), ndp: true},
		{name: "ndp na", data: ether(etherTypeIPv6, na), ndp: true},
		{name: "ndp ns 802.1Q", data: ether(etherTypeIPv6, ns, tagQ), ndp: true},
		{name: "ndp na QinQ", data: ether(etherTypeIPv6, na, tagAD, tagQ), ndp: true, tcpdumpDiffer: true},
		{name: "icmpv6 echo", data: ether(etherTypeIPv6, ipv6Payload(protoICMPv6, 128))},
		{name: "icmpv6 router advert", data: ether(etherTypeIPv6, ipv6Payload(protoICMPv6, 134))},
		{name: "icmpv6 ns behind hop-by-hop", data: ether(etherTypeIPv6, ipv6Payload(0, icmp6NS))},
		{name: "udp6 with byte 135 at 40", data: ether(etherTypeIPv6, ipv6Payload(17, icmp6NS))},
		{name: "ndp truncated before type", data: ether(etherTypeIPv6, ns[:40])},
		{name: "ndp ends at type", data: ether(etherTypeIPv6, ns[:41]), ndp: true},
		{name: "empty", data: nil},
		{name: "runt 13 bytes", data: arp[:13]},
		{name: "runt tag only", data: arpFrame(tagQ)[:16]},
		{name: "garbage", data: []byte("\x08\x06\x08\x06\x08\x06\x08\x06\x08\x06\x08\x06\x00\x00\xff")},
	}
}
