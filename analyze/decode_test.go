package analyze

import (
	"bytes"
	"net/netip"
	"testing"

	at "github.com/arpbox/arpbox/analyze/analyzetest"
	"github.com/google/go-cmp/cmp"
)

// TestDecodeMapping: how frames map onto Packet, NDP in ARP terms included.
func TestDecodeMapping(t *testing.T) {
	gw, srv := at.MAC("02:00:00:00:00:01"), at.MAC("02:00:00:00:00:05")
	ip := netip.MustParseAddr
	na := at.NeighborAdvertisement(srv, "2001:db8::5", gw, "2001:db8::1")
	naNoOpt := append([]byte{}, na[:len(na)-8]...) // drop the target link-layer option
	naNoOpt[14+5] -= 8                             // IPv6 payload length
	sll := append([]byte{0, 1, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 8, 6}, at.ARPBody(1, gw, "10.0.0.1", [6]byte{}, "10.0.0.5")...)
	for _, tc := range []struct {
		name  string
		link  int
		frame []byte
		want  Packet
	}{
		{"arp request, QinQ", LinkEthernet, at.Request(gw, "10.0.0.1", "10.0.0.5", 10, 20), Packet{Proto: ProtoARP, Op: OpRequest,
			EthSrc: gw, EthDst: at.Broadcast, VLAN: [2]uint16{10, 20}, Tags: 2, SenderMAC: gw, SenderIP: ip("10.0.0.1"), TargetIP: ip("10.0.0.5"), Broadcast: true}},
		{"arp reply", LinkEthernet, at.Reply(srv, "10.0.0.5", gw, "10.0.0.1"), Packet{Proto: ProtoARP, Op: OpReply,
			EthSrc: srv, EthDst: gw, SenderMAC: srv, SenderIP: ip("10.0.0.5"), TargetMAC: gw, TargetIP: ip("10.0.0.1"), Solicited: true}},
		{"arp in a cooked capture", LinkLinuxSLL, sll, Packet{Proto: ProtoARP, Op: OpRequest,
			EthSrc: gw, SenderMAC: gw, SenderIP: ip("10.0.0.1"), TargetIP: ip("10.0.0.5"), Broadcast: true}},
		{"neighbor solicitation", LinkEthernet, at.NeighborSolicitation(gw, "2001:db8::1", "2001:db8::5"), Packet{Proto: ProtoNDP, Op: OpRequest,
			EthSrc: gw, EthDst: MAC{0x33, 0x33, 0xff, 0, 0, 5}, SenderMAC: gw, SenderIP: ip("2001:db8::1"), TargetIP: ip("2001:db8::5"), Broadcast: true}},
		{"neighbor advertisement", LinkEthernet, na, Packet{Proto: ProtoNDP, Op: OpReply,
			EthSrc: srv, EthDst: gw, SenderMAC: srv, SenderIP: ip("2001:db8::5"), TargetIP: ip("2001:db8::1"), Solicited: true}},
		{"advertisement without its option", LinkEthernet, naNoOpt, Packet{Proto: ProtoNDP, Op: OpReply,
			EthSrc: srv, EthDst: gw, SenderMAC: srv, NoSenderMAC: true, SenderIP: ip("2001:db8::5"), TargetIP: ip("2001:db8::1"), Solicited: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p Packet
			if err := Decode(tc.link, tc.frame, &p); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, p, cmp.AllowUnexported(Packet{}), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
	// What is skipped, and why.
	for _, tc := range []struct {
		name  string
		link  int
		frame []byte
		want  decodeError
	}{
		{"ipv4", LinkEthernet, at.Ethernet(srv, gw, 0x0800, make([]byte, 46)), errNotResolution},
		{"rarp opcode", LinkEthernet, at.Ethernet(at.Broadcast, gw, 0x0806, at.ARPBody(3, gw, "0.0.0.0", gw, "0.0.0.0")), errARPOp},
		{"cut", LinkEthernet, at.Request(gw, "10.0.0.1", "10.0.0.5")[:30], errBadARP},
		{"no ethernet header", LinkEthernet, at.Request(gw, "10.0.0.1", "10.0.0.5")[:13], errShort},
		{"raw ip link: not a tunnel", 101, at.Request(gw, "10.0.0.1", "10.0.0.5"), errNotResolution},
		{"frame relay link", 107, at.Request(gw, "10.0.0.1", "10.0.0.5"), errLinkType},
	} {
		var p Packet
		if got := decode(tc.link, tc.frame, &p); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// BenchmarkDecode is the report's per-frame decode over a mix of requests
// and replies (tagged and untagged) and NDP. allocs/op must stay 0; at
// 3 M frames/s per core the budget is 333 ns/op.
func BenchmarkDecode(b *testing.B) {
	gw, srv := at.MAC("02:00:00:00:00:01"), at.MAC("02:00:00:00:00:05")
	frames := [][]byte{
		at.Request(gw, "10.0.0.1", "10.0.0.5"),
		at.Reply(srv, "10.0.0.5", gw, "10.0.0.1"),
		at.Request(gw, "10.0.0.1", "10.0.0.5", 10, 20),
		at.Reply(srv, "10.0.0.5", gw, "10.0.0.1", 7),
		at.NeighborSolicitation(gw, "2001:db8::1", "2001:db8::5"),
		at.NeighborAdvertisement(srv, "2001:db8::5", gw, "2001:db8::1"),
		at.Ethernet(srv, gw, 0x0800, make([]byte, 46)),
	}
	var p Packet
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = decode(LinkEthernet, frames[i], &p)
		if i++; i == len(frames) {
			i = 0
		}
	}
}

// TestDecodeFast checks decode's in-place path for untagged Ethernet ARP
// against decodeWire on ARP frames with every byte of the Ethernet header
// and the ARP body changed in turn (to a few values that matter: zero,
// one, two, the group bit, all ones), and cut at every length.
func TestDecodeFast(t *testing.T) {
	gw, srv := at.MAC("02:00:00:00:00:01"), at.MAC("02:00:00:00:00:05")
	frames := [][]byte{
		at.Request(gw, "10.0.0.1", "10.0.0.5"),
		at.Reply(srv, "10.0.0.5", gw, "10.0.0.1"),
		at.UnicastRequest(gw, "10.0.0.1", srv, "10.0.0.5"),
		at.Gratuitous(srv, "10.0.0.5"),
		at.Probe(gw, "10.0.0.9"),
		at.Request(gw, "10.0.0.1", "10.0.0.5", 10),
	}
	var fast int
	check := func(link int, b []byte) {
		t.Helper()
		// p holds the previous frame's leftovers: the fast path sets every
		// field, as decodeWire does.
		p := Packet{Proto: ProtoNDP, Op: OpReply, VLAN: [2]uint16{7, 8}, Tags: 2, NoSenderMAC: true,
			Solicited: true, Broadcast: true, SenderIP: netip.IPv6Loopback(), TargetMAC: MAC{1}, why: 9}
		var w Packet
		err, werr := decode(link, b, &p), decodeWire(link, b, &w)
		if err != werr || p != w {
			t.Fatalf("link %d frame %x:\ndecode     %v %+v\ndecodeWire %v %+v", link, b, err, p, werr, w)
		}
		if err == errNone && p.Proto == ProtoARP {
			fast++
		}
	}
	for _, f := range frames {
		for _, link := range []int{LinkEthernet, LinkLinuxSLL} {
			for n := range len(f) + 1 {
				check(link, f[:n])
			}
			for i := range min(len(f), 14+28) {
				for _, v := range []byte{0, 1, 2, 3, 4, 6, 8, 0x81, 0xff} {
					b := bytes.Clone(f)
					b[i] = v
					check(link, b)
				}
			}
		}
	}
	if fast < 100 {
		t.Fatalf("only %d frames decoded as ARP: the test checks too little", fast)
	}
}

// TestDecodeEncapsulations: ARP is found in what the decoder reads besides
// plain Ethernet, and what it cannot read is skipped with its cause.
func TestDecodeEncapsulations(t *testing.T) {
	gw, srv := at.MAC("02:00:00:00:00:01"), at.MAC("02:00:00:00:00:05")
	req := at.Request(gw, "10.0.0.1", "10.0.0.5")
	reqBody := req[14:]
	ip4 := func(proto byte, payload []byte) []byte { return at.IPv4("192.0.2.1", "192.0.2.2", proto, payload) }
	eth := func(payload []byte) []byte { return at.Ethernet(srv, gw, 0x0800, payload) }
	gre := func(proto uint16, payload []byte) []byte {
		return ip4(47, append([]byte{0, 0, byte(proto >> 8), byte(proto)}, payload...))
	}
	mpls := func(payload []byte) []byte {
		return at.Ethernet(srv, gw, 0x8847, append([]byte{0, 0x01, 0x01, 64, 0, 0, 0, 0}, payload...)) // label 16 (BoS), control word
	}
	var ib [20]byte
	ib[19] = 1
	enc := at.Radiotap80211(at.Broadcast, gw, srv, 0x0806, reqBody, false)
	enc[8+1] |= 0x40 // protected
	for _, tc := range []struct {
		name string
		link int
		b    []byte
		want decodeError
		why  uint32
	}{
		{"llc/snap", LinkEthernet, at.LLCSNAP(at.Broadcast, gw, 0x0806, reqBody), errNone, 0},
		{"802.3 without snap", LinkEthernet, append(append(append([]byte{}, at.Broadcast[:]...), gw[:]...), 0, 6, 0x42, 0x42, 3, 0, 0, 0), errNotResolution, 0},
		{"vxlan", LinkEthernet, eth(ip4(17, at.UDP(1, 4789, at.VXLAN(5, req)))), errNone, 0},
		{"vxlan over raw ip", 101, ip4(17, at.UDP(1, 4789, at.VXLAN(5, req))), errNone, 0},
		{"vxlan over loopback", 0, append([]byte{2, 0, 0, 0}, ip4(17, at.UDP(1, 4789, at.VXLAN(5, req)))...), errNone, 0},
		{"vxlan cut", LinkEthernet, eth(ip4(17, at.UDP(1, 4789, at.VXLAN(5, req[:12])))), errTunnel, tunnelVXLAN},
		{"vxlan of ipv4", LinkEthernet, eth(ip4(17, at.UDP(1, 4789, at.VXLAN(5, eth(ip4(6, nil)))))), errNotResolution, 0},
		{"geneve", LinkEthernet, eth(ip4(17, at.UDP(1, 6081, at.Geneve(5, req)))), errNone, 0},
		{"gre teb", LinkEthernet, eth(gre(0x6558, req)), errNone, 0},
		{"gre arp", LinkEthernet, eth(gre(0x0806, reqBody)), errNone, 0},
		{"erspan ii", LinkEthernet, eth(ip4(47, at.ERSPAN2(1, 2, req))), errNone, 0},
		{"erspan ii cut", LinkEthernet, eth(ip4(47, at.ERSPAN2(1, 2, nil)[:10])), errTunnel, tunnelERSPAN},
		{"erspan i", LinkEthernet, eth(gre(0x88be, req)), errNone, 0},
		{"erspan iii", LinkEthernet, eth(gre(0x22eb, append(make([]byte, 12), req...))), errNone, 0},
		{"mpls pseudowire", LinkEthernet, mpls(req), errNone, 0},
		{"802.1ah mac-in-mac", LinkEthernet, at.Ethernet(srv, gw, 0x88e7, append([]byte{0, 0, 0, 1}, req...)), errNone, 0},
		{"nested too deep", LinkEthernet, eth(ip4(17, at.UDP(1, 4789, at.VXLAN(5, eth(ip4(17, at.UDP(1, 4789, at.VXLAN(5, eth(ip4(17, at.UDP(1, 4789, at.VXLAN(5, eth(ip4(17, at.UDP(1, 4789, at.VXLAN(5, req)))))))))))))))), errTunnel, tunnelNested},
		{"radiotap 802.11", 127, at.Radiotap80211(at.Broadcast, gw, srv, 0x0806, reqBody, true), errNone, 0},
		{"plain 802.11", 105, at.Radiotap80211(at.Broadcast, gw, srv, 0x0806, reqBody, false)[8:], errNone, 0},
		{"ppi 802.11", 192, append([]byte{0, 0, 8, 0, 105, 0, 0, 0}, at.Radiotap80211(at.Broadcast, gw, srv, 0x0806, reqBody, false)[8:]...), errNone, 0},
		{"encrypted 802.11", 127, enc, errEncrypted, 0},
		{"802.11 beacon", 105, append([]byte{0x80, 0}, make([]byte, 40)...), errNotResolution, 0},
		{"ipoib short header", 242, at.IPoIBARP(false, 1, ib, "10.4.0.1", [20]byte{}, "10.4.0.2"), errNone, 0},
		{"ipoib long header", 242, at.IPoIBARP(true, 1, ib, "10.4.0.1", [20]byte{}, "10.4.0.2"), errNone, 0},
		{"rarp", LinkEthernet, at.Ethernet(at.Broadcast, gw, 0x8035, at.ARPBody(3, gw, "0.0.0.0", gw, "0.0.0.0")), errRARP, 0},
		{"arp for frame relay", LinkEthernet, at.Ethernet(at.Broadcast, gw, 0x0806, at.ARPOfType(15, 0x0800, 2, 4, 8)), errARPType, 15<<16 | 0x0800},
		{"arp over ieee 802", LinkEthernet, at.Ethernet(at.Broadcast, gw, 0x0806, append([]byte{0, 6}, reqBody[2:]...)), errNone, 0},
		{"inarp", LinkEthernet, at.Ethernet(at.Broadcast, gw, 0x0806, at.ARPBody(8, gw, "10.0.0.1", [6]byte{}, "0.0.0.0")), errARPOp, 8},
		{"arcnet", 7, []byte{1, 2, 3}, errLinkType, 7},
		{"ppi of ppi", 192, []byte{0, 0, 8, 0, 192, 0, 0, 0}, errLinkType, 192},
	} {
		var p Packet
		got := decode(tc.link, tc.b, &p)
		if got != tc.want || (got != errNone && p.why != tc.why) {
			t.Errorf("%s: %v (why %d), want %v (why %d)", tc.name, got, p.why, tc.want, tc.why)
			continue
		}
		if got == errNone && (p.Proto != ProtoARP || p.Op != OpRequest || !p.TargetIP.IsValid()) {
			t.Errorf("%s: decoded as %+v", tc.name, p)
		}
	}
}

// TestDecode80211Control: 802.11 control frames (an ACK is 10 bytes) are
// not resolution, not frames "too short" to read.
func TestDecode80211Control(t *testing.T) {
	ack := []byte{0xd4, 0, 0, 0, 2, 0, 0, 0, 0, 1}
	var p Packet
	if e := decode(105, ack, &p); e != errNotResolution {
		t.Errorf("ACK: %v", e)
	}
	if e := decode(127, append([]byte{0, 0, 8, 0, 0, 0, 0, 0}, ack...), &p); e != errNotResolution {
		t.Errorf("radiotap ACK: %v", e)
	}
}
