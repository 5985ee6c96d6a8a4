package pcapng

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// sample is a file with every option arpbox writes: two sections, two
// interfaces, packets with and without comments, statistics.
type sample struct {
	sec     Section
	ifaces  []Interface
	packets []Packet
	stats   []Stats
}

func newSample() sample {
	s := sample{
		sec: Section{Major: 1, Comment: "captured on host gw1", Hardware: "x86_64", OS: "Linux 6.1.0", UserAppl: "arpbox 1.0.0"},
		ifaces: []Interface{
			{LinkType: LinkTypeEthernet, SnapLen: 262144, Name: "eth1", Description: "uplink", Filter: "arp", OS: "Linux", TSResol: 9},
			{LinkType: LinkTypeEthernet, SnapLen: 1500, Name: "eth2", Comment: "second", Filter: "arp or (ether proto 0x86dd)", TSResol: 9},
		},
	}
	for i := range 7 {
		p := Packet{Timestamp: t0.UnixNano() + int64(i)*1_234_567, Interface: i % 2, LinkType: LinkTypeEthernet,
			Length: 60, Data: arpFrame(i)[:42-i%3], Kind: KindEnhanced}
		if i == 3 {
			p.Comment = []byte("arpbox: trigger gateway-unreachable fired here")
		}
		s.packets = append(s.packets, p)
	}
	s.stats = []Stats{
		{Interface: 0, Timestamp: t0.UnixNano() + 1e9, StartTime: t0.UnixNano() - 1e9, EndTime: t0.UnixNano() + 1e9,
			Received: 10, Dropped: 1, Has: HasStartTime | HasEndTime | HasReceived | HasDropped, Comment: "counts since start"},
		{Interface: 1, Timestamp: t0.UnixNano() + 1e9, FilterAccepted: 3, OSDropped: 4, Delivered: 5,
			Has: HasFilterAccepted | HasOSDropped | HasDelivered},
		{Interface: 1, Timestamp: t0.UnixNano() + 2e9},
	}
	return s
}

func (s sample) write(t testing.TB, w *Writer) {
	t.Helper()
	if err := w.WriteSection(s.sec); err != nil {
		t.Fatal(err)
	}
	for i, ifc := range s.ifaces {
		if id, err := w.WriteInterface(ifc); err != nil || id != i {
			t.Fatalf("WriteInterface = %d, %v; want %d", id, err, i)
		}
	}
	for _, p := range s.packets {
		if err := w.WritePacket(p.Interface, p.Timestamp, p.Length, p.Data, string(p.Comment)); err != nil {
			t.Fatal(err)
		}
	}
	for _, st := range s.stats {
		if err := w.WriteStats(st); err != nil {
			t.Fatal(err)
		}
	}
}

func (s sample) bytes(t testing.TB) []byte {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	s.write(t, w)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if w.Written() != int64(buf.Len()) {
		t.Fatalf("Written() = %d, wrote %d", w.Written(), buf.Len())
	}
	return buf.Bytes()
}

func TestWriteReadRoundTrip(t *testing.T) {
	s := newSample()
	b := s.bytes(t)
	two := append(bytes.Clone(b), b...)
	wantTwo := append(append([]Packet(nil), s.packets...), s.packets...)
	for i := range s.packets {
		wantTwo[len(s.packets)+i].Section = 1
	}
	for _, tc := range []struct {
		name     string
		b        []byte
		packets  []Packet
		stats    []Stats
		sections int
	}{
		{"one section", b, s.packets, s.stats, 1},
		{"gzip", gz(t, b), s.packets, s.stats, 1},
		{"two sections", two, wantTwo, append(append([]Stats(nil), s.stats...), s.stats...), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := readAll(t, tc.b)
			want := got{Format: FormatPcapng, Section: s.sec, Ifaces: s.ifaces, Sections: tc.sections, Packets: tc.packets, Stats: tc.stats}
			if d := cmp.Diff(want, g, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

// The reserved comment is where ReservedOffset says, and a same-length
// overwrite reads back.
func TestSectionReserve(t *testing.T) {
	sec := Section{Comment: "bundle", Reserve: 30, Hardware: "hw", OS: "os", UserAppl: "arpbox"}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.WriteSection(Section{UserAppl: "first"})
	w.WriteInterface(Interface{LinkType: 1})
	start := w.Written()
	if err := w.WriteSection(sec); err != nil {
		t.Fatal(err)
	}
	w.WriteInterface(Interface{LinkType: 1})
	w.WritePacket(0, 1, 42, arpFrame(1), "")
	w.Flush()
	b := buf.Bytes()
	off := start + int64(sec.ReservedOffset())
	if got := string(b[off : off+30]); got != strings.Repeat(" ", 30) {
		t.Fatalf("reserved bytes at %d = %q", off, got)
	}
	copy(b[off:], fmt.Sprintf("%-30s", "packets: 1"))
	r, err := NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	g := drain(r)
	if g.Err != nil || len(g.Packets) != 1 || g.Section.Hardware != "hw" || g.Section.OS != "os" || g.Section.Comment != "bundle" {
		t.Fatalf("read back %+v", g)
	}
	// The reserved comment is the section's second comment: find it by
	// scanning the options (Section keeps the first).
	if !bytes.Contains(b, []byte("packets: 1                    ")) {
		t.Error("overwritten comment not in the file")
	}
}

func TestReadPcap(t *testing.T) {
	data := [][]byte{arpFrame(1), arpFrame(2)}
	recs := [][2]uint32{{1_700_000_000, 999_999}, {1_700_000_001, 5}}
	for _, tc := range []struct {
		name string
		bo   binary.AppendByteOrder
		nano bool
		unit int64
	}{
		{"little-endian µs", binary.LittleEndian, false, 1000},
		{"big-endian µs", binary.BigEndian, false, 1000},
		{"little-endian ns", binary.LittleEndian, true, 1},
		{"big-endian ns", binary.BigEndian, true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := pcapFile(tc.bo, tc.nano, 1, recs, data)
			var want []Packet
			for i, r := range recs {
				want = append(want, Packet{Timestamp: int64(r[0])*1e9 + int64(r[1])*tc.unit, LinkType: 1,
					Length: len(data[i]) + 4, Data: data[i], Kind: KindPcap})
			}
			resol := uint8(6)
			if tc.nano {
				resol = 9
			}
			for _, in := range [][]byte{b, gz(t, b)} {
				g := readAll(t, in)
				w := got{Format: FormatPcap, Ifaces: []Interface{{LinkType: 1, SnapLen: 65535, TSResol: resol}}, Packets: want}
				if d := cmp.Diff(w, g); d != "" {
					t.Errorf("(-want +got):\n%s", d)
				}
			}
		})
	}
}

// A big-endian pcapng with a microsecond interface (no if_tsresol), a
// 2^-10 interface with if_tsoffset, a simple and an obsolete packet block,
// an unknown block (skipped) and options the reader reads.
func TestReadPcapngBigEndian(t *testing.T) {
	bb := &blockBuilder{bo: binary.BigEndian}
	bb.shb(bb.opt(nil, shbOS, []byte("Plan 9")), bb.opt(nil, optComment, []byte("c1")), bb.opt(nil, optComment, []byte("c2")), []byte{0, 0, 0, 0})
	bb.idb(1, 0)
	off := make([]byte, 8)
	binary.BigEndian.PutUint64(off, uint64(100)) // +100 s
	bb.idb(1, 30, bb.opt(nil, ifTSResol, []byte{0x80 | 10}), bb.opt(nil, ifTSOffset, off), bb.opt(nil, ifName, []byte("wlan0")))
	frame := arpFrame(7)
	const sec = 1_700_000_000
	bb.epb(0, sec*1e6+1, frame, bb.opt(nil, optComment, []byte("hello")))
	bb.epb(1, sec<<10|512, frame) // half a second
	bb.block(0x0BAD, []byte{1, 2, 3, 4})
	spb := binary.BigEndian.AppendUint32(nil, uint32(len(frame)))
	bb.block(blockSPB, append(spb, frame...)) // capped at interface 0's snaplen (none)
	opb := binary.BigEndian.AppendUint16(nil, 1)
	opb = binary.BigEndian.AppendUint16(opb, 0)
	opb = binary.BigEndian.AppendUint32(opb, 0)
	opb = binary.BigEndian.AppendUint32(opb, 1024+1) // 1 + 1/1024 s
	opb = binary.BigEndian.AppendUint32(opb, uint32(len(frame)))
	opb = binary.BigEndian.AppendUint32(opb, uint32(len(frame)))
	bb.block(blockOPB, append(opb, frame...))
	g := readAll(t, bb.b)
	want := got{
		Format:   FormatPcapng,
		Section:  Section{Major: 1, OS: "Plan 9", Comment: "c1"},
		Sections: 1,
		Ifaces: []Interface{
			{LinkType: 1, TSResol: 6},
			{LinkType: 1, SnapLen: 30, Name: "wlan0", TSResol: 0x80 | 10, TSOffset: 100},
		},
		Packets: []Packet{
			{Timestamp: sec*1e9 + 1000, LinkType: 1, Length: 42, Data: frame, Comment: []byte("hello"), Kind: KindEnhanced},
			{Timestamp: (sec+100)*1e9 + 5e8, Interface: 1, LinkType: 1, Length: 42, Data: frame, Kind: KindEnhanced},
			{LinkType: 1, Length: 42, Data: frame, Kind: KindSimple},
			{Timestamp: 101e9 + 976562, Interface: 1, LinkType: 1, Length: 42, Data: frame, Kind: KindObsolete},
		},
	}
	if d := cmp.Diff(want, g); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

// Cutting a file anywhere gives the packets before the cut, then io.EOF at
// a block boundary or a TruncatedError whose Valid is the last boundary.
func TestTruncated(t *testing.T) {
	s := newSample()
	ng := s.bytes(t)
	pc := pcapFile(binary.LittleEndian, false, 1, [][2]uint32{{1, 2}, {3, 4}, {5, 6}}, [][]byte{arpFrame(1), arpFrame(2)[:40], arpFrame(3)})
	for _, tc := range []struct {
		name   string
		b      []byte
		bounds func([]byte) []int // block boundaries; packets end at the listed ones
	}{
		{"pcapng", ng, func(b []byte) []int {
			var out []int
			for off := 0; off < len(b); {
				off += int(binary.LittleEndian.Uint32(b[off+4:]))
				out = append(out, off)
			}
			return out
		}},
		{"pcap", pc, func(b []byte) []int {
			out := []int{24}
			for off := 24; off < len(b); {
				off += 16 + int(binary.LittleEndian.Uint32(b[off+8:]))
				out = append(out, off)
			}
			return out
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			full := readAll(t, tc.b)
			if full.Err != nil {
				t.Fatal(full.Err)
			}
			bounds := tc.bounds(tc.b)
			for cut := 0; cut < len(tc.b); cut++ {
				last := 0
				for _, e := range bounds {
					if e <= cut {
						last = e
					}
				}
				g := readAll(t, tc.b[:cut])
				if cut == 0 {
					if !errors.Is(g.Err, ErrFormat) {
						t.Errorf("empty: %v, want ErrFormat", g.Err)
					}
					continue
				}
				if last == cut {
					if g.Err != nil {
						t.Errorf("cut at boundary %d: %v, want io.EOF", cut, g.Err)
					}
				} else if !isTruncated(g.Err, int64(last)) {
					t.Errorf("cut at %d: %v, want TruncatedError{Valid: %d}", cut, g.Err, last)
				}
				if !slicesPrefix(full.Packets, g.Packets) {
					t.Errorf("cut at %d: %d packets, not a prefix of the %d in the whole file", cut, len(g.Packets), len(full.Packets))
				}
				// A gzip stream cut short (here: its trailer) is torn,
				// even at a block boundary.
				z := gz(t, tc.b[:cut])
				if zg := readAll(t, z[:len(z)-4]); !errors.Is(zg.Err, ErrTruncated) {
					t.Errorf("gzip stream of %d bytes cut short: %v, want ErrTruncated", cut, zg.Err)
				}
			}
		})
	}
}

func slicesPrefix(full, pre []Packet) bool {
	return len(pre) <= len(full) && cmp.Equal(full[:len(pre)], pre, cmpopts.EquateEmpty())
}

func TestInvalid(t *testing.T) {
	s := newSample()
	ng := s.bytes(t)
	shbLen := int(binary.LittleEndian.Uint32(ng[4:]))
	idb0 := shbLen
	idbLen := int(binary.LittleEndian.Uint32(ng[idb0+4:]))
	idb1 := idb0 + idbLen
	epb0 := idb1 + int(binary.LittleEndian.Uint32(ng[idb1+4:]))
	epbLen := int(binary.LittleEndian.Uint32(ng[epb0+4:]))
	patch := func(off int, v uint32) []byte {
		b := bytes.Clone(ng)
		binary.LittleEndian.PutUint32(b[off:], v)
		return b
	}
	for _, tc := range []struct {
		name    string
		b       []byte
		err     error
		offset  int64
		packets int
		reason  string
	}{
		{"text", []byte("hello, world"), ErrFormat, 0, 0, "not a pcap"},
		{"bad byte-order magic", patch(8, 0x01020304), ErrInvalid, 0, 0, "byte-order magic"},
		{"section version 2", patch(12, 2), ErrVersion, 0, 0, "version 2.0"},
		{"pcap version 3", func() []byte {
			b := pcapFile(binary.LittleEndian, false, 1, nil, nil)
			b[4] = 3
			return b
		}(), ErrVersion, 0, 0, "version 3.4"},
		{"section length not a multiple of 4", patch(4, 30), ErrInvalid, 0, 0, "block length 30"},
		{"block length too small", patch(idb0+4, 8), ErrInvalid, int64(idb0), 0, "block length 8"},
		{"block length too large", patch(idb0+4, MaxBlockLen+4), ErrInvalid, int64(idb0), 0, "block length"},
		{"trailing length differs", patch(idb0+idbLen-4, 4), ErrInvalid, int64(idb0), 0, "trailing length 4"},
		{"undeclared interface", patch(epb0+8, 2), ErrInvalid, int64(epb0), 0, "interface 2 not declared"},
		{"captured length overruns", patch(epb0+20, uint32(epbLen)), ErrInvalid, int64(epb0), 0, "overruns"},
		{"second packet bad", patch(epb0+epbLen+4, 13), ErrInvalid, int64(epb0 + epbLen), 1, "block length 13"},
		{"pcap record too large", func() []byte {
			b := pcapFile(binary.LittleEndian, false, 1, [][2]uint32{{1, 1}}, [][]byte{arpFrame(1)})
			binary.LittleEndian.PutUint32(b[24+8:], MaxBlockLen)
			return b
		}(), ErrInvalid, 24, 0, "captured length"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := readAll(t, tc.b)
			if !errors.Is(g.Err, tc.err) {
				t.Fatalf("error %v, want %v", g.Err, tc.err)
			}
			if !strings.Contains(fmt.Sprint(g.Err), tc.reason) {
				t.Errorf("error %q does not say %q", g.Err, tc.reason)
			}
			if len(g.Packets) != tc.packets {
				t.Errorf("%d packets before the error, want %d", len(g.Packets), tc.packets)
			}
			var ie *InvalidError
			if errors.As(g.Err, &ie) && ie.Offset != tc.offset {
				t.Errorf("offset %d, want %d", ie.Offset, tc.offset)
			}
			if tc.err != ErrFormat && !errors.As(g.Err, &ie) {
				t.Errorf("error %T is not an *InvalidError", g.Err)
			}
		})
	}
}

// Timestamps are converted exactly: floor(ts * 1e9 / units per second),
// checked against math/big.
func TestTimestampExact(t *testing.T) {
	tss := []uint64{0, 1, 999, 1 << 31, 1<<32 + 17, 1_700_000_000_123_456, 1<<52 + 3, 1<<63 - 1, 1<<64 - 1}
	var resols []uint8
	for e := uint8(0); e <= 127; e++ {
		resols = append(resols, e, 0x80|e)
	}
	for _, res := range resols {
		c := newTSConv(res, 0)
		for _, ts := range tss {
			units := new(big.Int)
			if res&0x80 != 0 {
				units.Lsh(big.NewInt(1), uint(res&0x7f))
			} else {
				units.Exp(big.NewInt(10), big.NewInt(int64(res)), nil)
			}
			want := new(big.Int).Mul(new(big.Int).SetUint64(ts), big.NewInt(1e9))
			want.Quo(want, units)
			if want.BitLen() > 64 {
				continue // does not fit int64 nanoseconds either way
			}
			w := int64(want.Uint64())
			if got := c.ns(ts); got != w {
				t.Errorf("if_tsresol %#x ts %d: %d ns, want %d", res, ts, got, w)
			}
		}
	}
	c := newTSConv(9, -5)
	if got := c.ns(7e9); got != 2e9 {
		t.Errorf("if_tsoffset -5 s: %d, want 2e9", got)
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	b := newSample().bytes(t)
	for name, content := range map[string][]byte{"a.pcapng": b, "a.pcapng.gz": gz(t, b)} {
		path := filepath.Join(dir, name)
		os.WriteFile(path, content, 0o644)
		r, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		g := drain(r)
		if g.Err != nil || len(g.Packets) != 7 {
			t.Errorf("%s: %d packets, %v", name, len(g.Packets), g.Err)
		}
		if r.Compressed() != strings.HasSuffix(name, ".gz") {
			t.Errorf("%s: Compressed() = %v", name, r.Compressed())
		}
		if err := r.Close(); err != nil {
			t.Error(err)
		}
	}
	if _, err := Open(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open(missing) = %v", err)
	}
}

// Next keeps returning its error.
func TestErrorSticky(t *testing.T) {
	b := newSample().bytes(t)
	r, _ := NewReader(bytes.NewReader(b[:len(b)-5]))
	var p Packet
	var first error
	for first == nil {
		first = r.Next(&p)
	}
	if err := r.Next(&p); err == nil || err.Error() != first.Error() {
		t.Errorf("second error %v, first %v", err, first)
	}
	_ = io.EOF
}

// TestFastPathCorrupted reads a capture with each byte of its packet blocks
// changed in turn (to values that matter to lengths, ids and block types)
// and with the capture cut at every length: the fast path for enhanced
// packet blocks reads and refuses exactly what the general path does.
func TestFastPathCorrupted(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	newSample().write(t, w)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	orig := buf.Bytes()
	check := func(b []byte) {
		t.Helper()
		r, err := NewReader(bytes.NewReader(b))
		if err != nil {
			return
		}
		sameAsGeneral(t, b, drain(r), r.Offset())
	}
	for n := range len(orig) + 1 {
		check(orig[:n])
	}
	for i := range orig {
		for _, v := range []byte{0, 1, 2, 3, 4, 6, 0x20, 0x7f, 0x80, 0xff, orig[i] + 1, orig[i] - 1} {
			b := bytes.Clone(orig)
			b[i] = v
			check(b)
		}
	}
}
