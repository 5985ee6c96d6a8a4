package arpwire

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var (
	gw  = MAC{2, 0, 0, 0, 0, 1}
	srv = MAC{2, 0, 0, 0, 0, 5}
)

// unhex reads hex with spaces and newlines, for frames laid out by field.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// whoHas is the frame `arping -I eth0 10.0.0.5` sends from 02:00:00:00:00:01
// with address 10.0.0.1 (before the NIC pads it), arpBody its ARP message.
const (
	arpBody = " 0001 0800 06 04 0001 020000000001 0a000001 000000000000 0a000005"
	whoHas  = "ffffffffffff 020000000001 0806" + arpBody
)

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

var frameCmp = cmp.Options{
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
}

func TestDecodeFrame(t *testing.T) {
	arp := unhex(t, whoHas)[14:]
	for _, tc := range []struct {
		name string
		link int
		in   string
		want Frame
		vids []uint16
	}{
		{"ethernet", LinkEthernet, whoHas,
			Frame{Dst: Broadcast, Src: gw, Group: true, EtherType: EtherTypeARP, Payload: arp}, nil},
		{"unicast", LinkEthernet, "020000000005 020000000001 0806" + hex.EncodeToString(arp),
			Frame{Dst: srv, Src: gw, EtherType: EtherTypeARP, Payload: arp}, nil},
		{"802.1Q", LinkEthernet, "ffffffffffff 020000000001 8100 2007 0806" + hex.EncodeToString(arp),
			Frame{Dst: Broadcast, Src: gw, Group: true, NumTags: 1, Tags: [MaxTags]Tag{{TPIDCTag, 0x2007}}, EtherType: EtherTypeARP, Payload: arp}, []uint16{7}},
		{"802.1ad over 802.1Q over QinQ", LinkEthernet, "ffffffffffff 020000000001 88a8 000a 8100 0014 9100 f01e 0806" + hex.EncodeToString(arp),
			Frame{Dst: Broadcast, Src: gw, Group: true, NumTags: 3, Tags: [MaxTags]Tag{{TPIDSTag, 10}, {TPIDCTag, 20}, {TPIDQinQ, 0xf01e}}, EtherType: EtherTypeARP, Payload: arp}, []uint16{10, 20, 30}},
		{"sll broadcast", LinkLinuxSLL, "0001 0001 0006 020000000001 0000 0806" + hex.EncodeToString(arp),
			Frame{Src: gw, Group: true, EtherType: EtherTypeARP, Payload: arp}, nil},
		{"sll outgoing, no 6-byte address", LinkLinuxSLL, "0004 0001 0000 0000000000000000 0806" + hex.EncodeToString(arp),
			Frame{EtherType: EtherTypeARP, Payload: arp}, nil},
		{"sll2 multicast", LinkSLL2, "0806 0000 00000002 0001 02 06 0200000000010000" + hex.EncodeToString(arp),
			Frame{Src: gw, Group: true, EtherType: EtherTypeARP, Payload: arp}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var f Frame
			if err := DecodeFrame(tc.link, unhex(t, tc.in), &f); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, f, frameCmp); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			var vids []uint16
			for _, t := range f.Tags[:f.NumTags] {
				vids = append(vids, t.VID())
			}
			if d := cmp.Diff(tc.vids, vids); d != "" {
				t.Errorf("VLAN IDs (-want +got):\n%s", d)
			}
		})
	}
}

func TestARPRoundTrip(t *testing.T) {
	frame := unhex(t, whoHas)
	var f Frame
	var a ARP
	if err := DecodeFrame(LinkEthernet, frame, &f); err != nil {
		t.Fatal(err)
	}
	if err := a.UnmarshalBinary(f.Payload); err != nil {
		t.Fatal(err)
	}
	want := ARP{Op: OpRequest, SenderMAC: gw, SenderIP: addr("10.0.0.1"), TargetIP: addr("10.0.0.5")}
	if d := cmp.Diff(want, a, frameCmp); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	got, err := AppendRequest(nil, gw, addr("10.0.0.1"), addr("10.0.0.5"))
	if err != nil || !bytes.Equal(got, frame) {
		t.Errorf("AppendRequest = %x, %v; want %x", got, err, frame)
	}
	if p := Pad(got); len(p) != MinFrameLen || !bytes.Equal(p[:len(frame)], frame) || !bytes.Equal(p[len(frame):], make([]byte, MinFrameLen-len(frame))) {
		t.Errorf("Pad = %x", p)
	}
	// A padded frame decodes to the same message.
	var padded ARP
	if err := DecodeFrame(LinkEthernet, Pad(got), &f); err != nil || padded.UnmarshalBinary(f.Payload) != nil || padded != a {
		t.Errorf("padded frame decodes to %+v", padded)
	}
}

// ns and na are a solicitation from 2001:db8::1 for 2001:db8::5 and its
// answer, as Linux sends them; tshark calls their checksums correct.
const (
	ns = `6000000000203aff 20010db8000000000000000000000001 ff0200000000000000000001ff000005
		87 00 1c21 00000000 20010db8000000000000000000000005 0101 020000000001`
	na = `6000000000203aff 20010db8000000000000000000000005 20010db8000000000000000000000001
		88 00 8a68 60000000 20010db8000000000000000000000005 0201 020000000005`
)

func TestNDP(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want NDP
	}{
		{"solicitation", ns, NDP{Src: addr("2001:db8::1"), Dst: addr("ff02::1:ff00:5"), HopLimit: 255, Type: TypeNeighborSolicitation,
			Target: addr("2001:db8::5"), LinkAddr: gw, HasLinkAddr: true}},
		{"advertisement", na, NDP{Src: addr("2001:db8::5"), Dst: addr("2001:db8::1"), HopLimit: 255, Type: TypeNeighborAdvertisement,
			Solicited: true, Override: true, Target: addr("2001:db8::5"), LinkAddr: srv, HasLinkAddr: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := unhex(t, tc.in)
			var m NDP
			if err := m.UnmarshalBinary(in); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, m, frameCmp); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			out, err := m.MarshalBinary()
			if err != nil || !bytes.Equal(out, in) {
				t.Errorf("MarshalBinary = %x, %v\n                  want %x", out, err, in)
			}
			// Ethernet padding after the IPv6 payload is not an option.
			if err := m.UnmarshalBinary(append(in, 0, 0, 0, 0, 0, 0)); err != nil || m != tc.want {
				t.Errorf("with trailing bytes: %+v, %v", m, err)
			}
		})
	}
	// Without the option, and behind a hop-by-hop header.
	m := NDP{Src: addr("fe80::5"), Dst: addr("fe80::1"), HopLimit: 255, Type: TypeNeighborAdvertisement, Router: true, Target: addr("fe80::5")}
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	hbh := append([]byte{}, b[:40]...)
	hbh[6] = 0                                          // next header: hop-by-hop
	hbh[5] += 8                                         // payload length
	hbh = append(hbh, protoICMPv6, 0, 5, 2, 0, 0, 1, 0) // router alert, PadN
	hbh = append(hbh, b[40:]...)
	var got NDP
	if err := got.UnmarshalBinary(hbh); err != nil || got != m {
		t.Errorf("behind hop-by-hop: %+v, %v; want %+v", got, err, m)
	}
}

// TestChecksum: the checksum field makes the one's complement sum over the
// pseudo-header and message zero (RFC 1071), as a receiver checks it.
func TestChecksum(t *testing.T) {
	for _, s := range []string{ns, na} {
		b := unhex(t, s)
		if c := checksum([16]byte(b[8:24]), [16]byte(b[24:40]), b[40:]); c != 0 {
			t.Errorf("checksum over a message with its checksum = %#04x, want 0", c)
		}
	}
}

// TestErrors: each sentinel, for the input that earns it.
func TestErrors(t *testing.T) {
	arp := unhex(t, whoHas)[14:]
	nsb := unhex(t, ns)
	mod := func(b []byte, i int, v byte) []byte { c := bytes.Clone(b); c[i] = v; return c }
	frame := func(link int, b []byte) func() error {
		return func() error { var f Frame; return DecodeFrame(link, b, &f) }
	}
	arpOf := func(b []byte) func() error { return func() error { var a ARP; return a.UnmarshalBinary(b) } }
	ndpOf := func(b []byte) func() error { return func() error { var m NDP; return m.UnmarshalBinary(b) } }
	encode := func(f Frame) func() error { return func() error { _, err := f.AppendBinary(nil); return err } }
	for _, tc := range []struct {
		name string
		run  func() error
		want error
	}{
		{"ethernet header cut", frame(LinkEthernet, make([]byte, 13)), ErrTruncated},
		{"sll header cut", frame(LinkLinuxSLL, make([]byte, 15)), ErrTruncated},
		{"sll2 header cut", frame(LinkSLL2, make([]byte, 19)), ErrTruncated},
		{"vlan tag cut", frame(LinkEthernet, unhex(t, "ffffffffffff 020000000001 8100 00")), ErrTruncated},
		{"raw IP link type", frame(101, arp), ErrLinkType},
		{"arp cut", arpOf(arp[:27]), ErrTruncated},
		{"arp for token ring", arpOf(mod(arp, 1, 6)), ErrUnsupportedARP},
		{"arp for IPv6", arpOf(mod(arp, 5, 16)), ErrUnsupportedARP},
		{"ipv6 header cut", ndpOf(nsb[:39]), ErrTruncated},
		{"ipv4 packet", ndpOf(mod(nsb, 0, 0x45)), ErrNotNDP},
		{"udp", ndpOf(mod(nsb, 6, 17)), ErrNotNDP},
		{"echo request", ndpOf(mod(nsb, 40, 128)), ErrNotNDP},
		{"router advertisement", ndpOf(mod(nsb, 40, 134)), ErrNotNDP},
		{"extension header cut", ndpOf(mod(nsb[:44], 6, 0)), ErrTruncated},
		{"solicitation cut", ndpOf(mod(nsb[:60], 5, 20)), ErrTruncated},
		{"non-zero code", ndpOf(mod(nsb, 41, 1)), ErrMalformedNDP},
		{"zero-length option", ndpOf(mod(nsb, 65, 0)), ErrMalformedNDP},
		{"option past the end", ndpOf(mod(nsb, 65, 2)), ErrMalformedNDP},
		{"tag with an EtherType for TPID", encode(Frame{NumTags: 1, Tags: [MaxTags]Tag{{EtherTypeIPv4, 1}}, EtherType: EtherTypeARP}), ErrInvalidTag},
		{"more tags than a Frame holds", encode(Frame{NumTags: MaxTags + 1, EtherType: EtherTypeARP}), ErrInvalidTag},
		{"EtherType that is a TPID", encode(Frame{EtherType: TPIDCTag}), ErrInvalidTag},
		{"arp with IPv6", func() error { _, err := AppendRequest(nil, gw, addr("::1"), addr("10.0.0.5")); return err }, ErrInvalidAddr},
		{"arp without target", func() error { a := ARP{SenderIP: addr("10.0.0.1")}; _, err := a.MarshalBinary(); return err }, ErrInvalidAddr},
		{"ndp with IPv4", func() error {
			m := NDP{Src: addr("10.0.0.1"), Dst: addr("ff02::1"), Target: addr("::1"), Type: TypeNeighborSolicitation}
			_, err := m.MarshalBinary()
			return err
		}, ErrInvalidAddr},
		{"ndp of another type", func() error {
			m := NDP{Src: addr("::1"), Dst: addr("ff02::1"), Target: addr("::1"), Type: 134}
			_, err := m.MarshalBinary()
			return err
		}, ErrNotNDP},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.run(); !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
		})
	}
}

func TestMAC(t *testing.T) {
	m := MAC{0x02, 0xab, 0, 0, 0x01, 0xff}
	if s := m.String(); s != "02:ab:00:00:01:ff" {
		t.Errorf("String = %q", s)
	}
	if m.IsZero() || !(MAC{}).IsZero() || m.IsGroup() || !Broadcast.IsGroup() || !(MAC{0x33, 0x33, 0, 0, 0, 1}).IsGroup() {
		t.Error("IsZero/IsGroup wrong")
	}
}

// TestDecodeAllocs: decoding, the hot path of arpbox report, allocates nothing.
func TestDecodeAllocs(t *testing.T) {
	for _, in := range [][]byte{
		unhex(t, "ffffffffffff 020000000001 88a8 000a 8100 0014 0806"+arpBody),
		append(unhex(t, "333300000001 020000000001 86dd"), unhex(t, ns)...),
	} {
		var f Frame
		var a ARP
		var m NDP
		n := testing.AllocsPerRun(100, func() {
			if DecodeFrame(LinkEthernet, in, &f) != nil {
				t.Fatal("decode failed")
			}
			switch f.EtherType {
			case EtherTypeARP:
				_ = a.UnmarshalBinary(f.Payload)
			case EtherTypeIPv6:
				_ = m.UnmarshalBinary(f.Payload)
			}
		})
		if n != 0 {
			t.Errorf("decoding %x allocates %v times", in, n)
		}
	}
}

// TestManyTags: a frame with more tags than a Frame holds still decodes,
// counting them all, but is not encoded again.
func TestManyTags(t *testing.T) {
	in := unhex(t, "ffffffffffff 020000000001"+strings.Repeat(" 8100 0005", MaxTags+2)+" 0806"+arpBody)
	var f Frame
	if err := DecodeFrame(LinkEthernet, in, &f); err != nil {
		t.Fatal(err)
	}
	if f.NumTags != MaxTags+2 || f.Tags[MaxTags-1].VID() != 5 || f.EtherType != EtherTypeARP || len(f.Payload) != ARPLen {
		t.Errorf("decoded %+v", f)
	}
	if _, err := f.AppendBinary(nil); !errors.Is(err, ErrInvalidTag) {
		t.Errorf("encoding %d tags: %v, want ErrInvalidTag", f.NumTags, err)
	}
}
