package arpwire

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzDecode decodes arbitrary bytes as a frame of each link type, and
// whatever decodes as ARP or NDP inside it. Random bytes never panic, and
// decoding round-trips:
//   - an Ethernet frame with at most MaxTags tags re-encodes to exactly its
//     bytes;
//   - a decoded ARP or NDP message re-encodes, and the encoding decodes to
//     the same message; an ARP message re-encodes to its own 28 bytes.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		whoHas,
		"ffffffffffff 020000000001 88a8 000a 8100 0014 0806" + arpBody,
		"333300000001 020000000001 86dd" + ns,
		"020000000001 020000000005 8100 0003 86dd" + na,
	} {
		f.Add(uint8(0), unhex(f, s))
	}
	f.Add(uint8(1), unhex(f, "0000 0001 0006 020000000001 0000 0806"+arpBody))
	f.Add(uint8(2), unhex(f, "86dd 0000 00000002 0001 02 06 0200000000010000"+ns))
	f.Add(uint8(0), []byte{})
	f.Fuzz(func(t *testing.T, which uint8, b []byte) {
		link := [...]int{LinkEthernet, LinkLinuxSLL, LinkSLL2}[which%3]
		var fr Frame
		if err := DecodeFrame(link, b, &fr); err != nil {
			return
		}
		if fr.NumTags < 0 || len(fr.Payload) > len(b) {
			t.Fatalf("decoded %+v from %d bytes", fr, len(b))
		}
		if link == LinkEthernet && fr.NumTags <= MaxTags {
			out, err := fr.AppendBinary(nil)
			if err != nil {
				t.Fatalf("re-encode %+v: %v", fr, err)
			}
			if !bytes.Equal(out, b) {
				t.Fatalf("re-encoded frame differs:\n got %x\nwant %x", out, b)
			}
		}
		switch fr.EtherType {
		case EtherTypeARP:
			var a, back ARP
			if a.UnmarshalBinary(fr.Payload) != nil {
				return
			}
			out, err := a.MarshalBinary()
			if err != nil {
				t.Fatalf("re-encode %+v: %v", a, err)
			}
			if !bytes.Equal(out, fr.Payload[:ARPLen]) {
				t.Fatalf("re-encoded ARP differs:\n got %x\nwant %x", out, fr.Payload[:ARPLen])
			}
			if err := back.UnmarshalBinary(out); err != nil || back != a {
				t.Fatalf("decode(encode(%+v)) = %+v, %v", a, back, err)
			}
		case EtherTypeIPv6:
			var m, back NDP
			if m.UnmarshalBinary(fr.Payload) != nil {
				return
			}
			out, err := m.MarshalBinary()
			if err != nil {
				t.Fatalf("re-encode %+v: %v", m, err)
			}
			if err := back.UnmarshalBinary(out); err != nil || back != m {
				t.Fatalf("decode(encode(m)) differs: %v\n%s", err, cmp.Diff(m, back, frameCmp))
			}
			if c := checksum(m.Src.As16(), m.Dst.As16(), out[ipv6HeaderLen:]); c != 0 {
				t.Fatalf("encoded checksum does not verify (%#04x)", c)
			}
		}
	})
}

// BenchmarkDecode decodes frames as arpbox report does: the link layer,
// then the ARP or NDP message. Run with -benchmem; allocs/op must be 0.
func BenchmarkDecode(b *testing.B) {
	for _, bc := range []struct{ name, frame string }{
		{"arp", whoHas},
		{"arp-qinq", "ffffffffffff 020000000001 88a8 000a 8100 0014 0806" + arpBody},
		{"ndp", "333300000001 020000000001 86dd" + ns},
	} {
		frame := unhex(b, bc.frame)
		b.Run(bc.name, func(b *testing.B) {
			var f Frame
			var a ARP
			var m NDP
			b.ReportAllocs()
			b.SetBytes(int64(len(frame)))
			for b.Loop() {
				if DecodeFrame(LinkEthernet, frame, &f) != nil {
					b.Fatal("decode failed")
				}
				var err error
				switch f.EtherType {
				case EtherTypeARP:
					err = a.UnmarshalBinary(f.Payload)
				case EtherTypeIPv6:
					err = m.UnmarshalBinary(f.Payload)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
