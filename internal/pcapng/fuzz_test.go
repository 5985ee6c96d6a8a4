package pcapng

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func fuzzSeeds(f *testing.F) {
	ng := newSample().bytes(f)
	f.Add(ng)
	f.Add(ng[:len(ng)-5])
	f.Add(gz(f, ng))
	f.Add(pcapFile(binary.BigEndian, true, 1, [][2]uint32{{1, 2}, {3, 4}}, [][]byte{arpFrame(1), arpFrame(2)}))
	bb := &blockBuilder{bo: binary.BigEndian}
	bb.shb()
	bb.idb(1, 0, bb.opt(nil, ifTSResol, []byte{0x80 | 20}))
	bb.epb(0, 1<<40, arpFrame(3), bb.opt(nil, optComment, []byte("x")))
	f.Add(bb.b)
	if b, err := os.ReadFile(filepath.Join("..", "..", "ring", "testdata", "segment.pcapng")); err == nil {
		f.Add(b)
	}
}

// Random bytes never panic; the valid prefix (where the reader stopped, and
// what Scan says) re-reads to the same packets and ends cleanly.
func FuzzReader(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewReader(bytes.NewReader(b))
		if err != nil {
			return
		}
		g := drain(r)
		sameAsGeneral(t, b, g, r.Offset())
		var te *TruncatedError
		var ie *InvalidError
		if g.Err != nil && !errors.As(g.Err, &te) && !errors.As(g.Err, &ie) {
			if r.Compressed() {
				return // a corrupt gzip stream
			}
			t.Fatalf("error %v (%T) is neither truncated nor invalid", g.Err, g.Err)
		}
		valid := r.Offset()
		for _, p := range g.Packets {
			if len(p.Data) > MaxBlockLen {
				t.Fatalf("packet of %d bytes", len(p.Data))
			}
		}
		if r.Compressed() {
			return // offsets are in the uncompressed stream
		}
		if valid > int64(len(b)) {
			t.Fatalf("valid prefix %d of %d bytes", valid, len(b))
		}
		if g.Err == nil && valid != int64(len(b)) {
			t.Fatalf("clean end at %d of %d bytes", valid, len(b))
		}
		again := readAll(t, b[:valid])
		if again.Err != nil {
			t.Fatalf("valid prefix of %d bytes: %v", valid, again.Err)
		}
		if d := cmp.Diff(g.Packets, again.Packets, cmpopts.EquateEmpty()); d != "" {
			t.Fatalf("valid prefix reads differently (-whole +prefix):\n%s", d)
		}
		if r.Format() != FormatPcapng {
			return
		}
		res, err := Scan(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if res.Valid != valid || res.Packets != uint64(len(g.Packets)) {
			t.Fatalf("Scan: %d bytes, %d packets; reader: %d bytes, %d packets", res.Valid, res.Packets, valid, len(g.Packets))
		}
		if (res.Stop == nil) != (g.Err == nil) {
			t.Fatalf("Scan stop %v, reader %v", res.Stop, g.Err)
		}
		pre, err := Scan(bytes.NewReader(b[:valid]))
		if err != nil || pre.Stop != nil || pre.Valid != valid || pre.Packets != res.Packets || pre.LastTimestamp != res.LastTimestamp {
			t.Fatalf("Scan of the valid prefix: %+v, %v; of the whole: %+v", pre, err, res)
		}
	})
}

// Whatever arpbox writes (section, interface and statistics options,
// packets with comments) reads back the same.
func FuzzRoundTrip(f *testing.F) {
	f.Add("arpbox 1.0", "captured on host gw1", "eth0", "arp", uint32(262144), int64(1_700_000_000_123_456_789), []byte("frame"), "trigger here", uint64(10), uint64(1), uint16(3))
	f.Add("", "", "", "", uint32(0), int64(-1), []byte{}, "", uint64(0), uint64(0), uint16(0))
	f.Fuzz(func(t *testing.T, appl, comment, name, filter string, snap uint32, ts int64, data []byte, pcomment string, recv, drop uint64, reserve uint16) {
		cut := func(s string) string { return s[:min(len(s), 0xfffe)] }
		appl, comment, name, filter, pcomment = cut(appl), cut(comment), cut(name), cut(filter), cut(pcomment)
		s := sample{
			sec:    Section{Major: 1, Comment: comment, UserAppl: appl, Hardware: name, OS: filter},
			ifaces: []Interface{{LinkType: 1, SnapLen: snap, Name: name, Description: comment, Filter: filter, OS: appl, Comment: pcomment, TSResol: 9}},
			packets: []Packet{
				{Timestamp: ts, LinkType: 1, Length: len(data) + 1, Data: data, Comment: []byte(pcomment), Kind: KindEnhanced},
				{Timestamp: ts + 1, LinkType: 1, Length: len(data), Data: data, Kind: KindEnhanced},
			},
			stats: []Stats{{Timestamp: ts, StartTime: ts - 5, EndTime: ts, Received: recv, Dropped: drop, Comment: comment,
				Has: HasStartTime | HasEndTime | HasReceived | HasDropped}},
		}
		if pcomment == "" {
			s.packets[0].Comment = nil
		}
		w := s.sec
		w.Reserve = int(reserve % 512)
		s2 := s
		s2.sec = w
		g := readAll(t, s2.bytes(t))
		want := got{Format: FormatPcapng, Section: s.sec, Ifaces: s.ifaces, Sections: 1, Packets: s.packets, Stats: s.stats}
		if comment == "" && w.Reserve > 0 {
			want.Section.Comment = string(bytes.Repeat([]byte(" "), w.Reserve)) // the first comment
		}
		if d := cmp.Diff(want, g, cmpopts.EquateEmpty()); d != "" {
			t.Fatalf("(-want +got):\n%s", d)
		}
	})
}

// Scan finds the valid prefix; Repair cuts the file there.
func TestScanRepair(t *testing.T) {
	s := newSample()
	b := s.bytes(t)
	garbage := append(bytes.Clone(b), make([]byte, 4096)...) // zeros, as after a crash on ext4
	shbLen := int64(binary.LittleEndian.Uint32(b[4:]))
	lastLen := int64(binary.LittleEndian.Uint32(b[len(b)-4:]))
	for _, tc := range []struct {
		name string
		b    []byte
		want ScanResult
		stop error
	}{
		{"whole", b, ScanResult{Valid: int64(len(b)), Sections: 1, Interfaces: 2, Packets: 7, LastTimestamp: s.packets[6].Timestamp}, nil},
		{"torn", b[:len(b)-3], ScanResult{Valid: int64(len(b)) - lastLen, Sections: 1, Interfaces: 2, Packets: 7, LastTimestamp: s.packets[6].Timestamp}, ErrTruncated},
		{"zeros after", garbage, ScanResult{Valid: int64(len(b)), Sections: 1, Interfaces: 2, Packets: 7, LastTimestamp: s.packets[6].Timestamp}, ErrInvalid},
		{"header only", b[:shbLen+10], ScanResult{Valid: shbLen, Sections: 1}, ErrTruncated},
		{"empty", nil, ScanResult{}, ErrFormat},
		{"gzip", gz(t, b), ScanResult{}, ErrFormat},
		{"pcap", pcapFile(binary.LittleEndian, false, 1, nil, nil), ScanResult{}, ErrFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Scan(bytes.NewReader(tc.b))
			if err != nil {
				t.Fatal(err)
			}
			if !errors.Is(res.Stop, tc.stop) || (tc.stop == nil) != (res.Stop == nil) {
				t.Errorf("Stop = %v, want %v", res.Stop, tc.stop)
			}
			res.Stop = nil
			if d := cmp.Diff(tc.want, res); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			path := filepath.Join(t.TempDir(), "f")
			os.WriteFile(path, tc.b, 0o644)
			rres, err := Repair(path)
			after, _ := os.ReadFile(path)
			if tc.want.Valid == 0 {
				if err == nil || !bytes.Equal(after, tc.b) {
					t.Errorf("Repair = %v; file changed: %v", err, !bytes.Equal(after, tc.b))
				}
				return
			}
			if err != nil || rres.Valid != tc.want.Valid || !bytes.Equal(after, tc.b[:tc.want.Valid]) {
				t.Errorf("Repair = %+v, %v; file %d bytes, want %d", rres, err, len(after), tc.want.Valid)
			}
		})
	}
	if _, err := Repair(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Repair(missing) = %v", err)
	}
}

func TestTrailingStats(t *testing.T) {
	s := newSample()
	b := s.bytes(t)
	ifaces, stats, err := TrailingStats(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(s.ifaces, ifaces); d != "" {
		t.Errorf("interfaces (-want +got):\n%s", d)
	}
	if d := cmp.Diff(s.stats, stats); d != "" {
		t.Errorf("statistics (-want +got):\n%s", d)
	}
	// Without statistics at the end (a .part segment): none.
	cut := b[:len(b)-3]
	if _, stats, err := TrailingStats(bytes.NewReader(cut), int64(len(cut))); err != nil || len(stats) != 0 {
		t.Errorf("torn file: %v, %v", stats, err)
	}
	if _, _, err := TrailingStats(bytes.NewReader([]byte("nonsense")), 8); !errors.Is(err, ErrFormat) {
		t.Errorf("not pcapng: %v", err)
	}
	_ = io.EOF
}

// sameAsGeneral checks that b reads as it did (g, up to offset valid) with
// every block read on Next's general path: the fast path for enhanced
// packet blocks (nextEPB) reads what it reads the same way, and leaves the
// rest, errors included, to the general path.
func sameAsGeneral(t *testing.T, b []byte, g got, valid int64) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("second NewReader: %v", err)
	}
	r.general = true
	gen := drain(r)
	if !reflect.DeepEqual(gen.Packets, g.Packets) {
		t.Fatalf("packets differ (-general +fast):\n%s", cmp.Diff(gen.Packets, g.Packets))
	}
	if fmt.Sprint(gen.Err) != fmt.Sprint(g.Err) || r.Offset() != valid {
		t.Fatalf("general path: %v at %d; fast: %v at %d", gen.Err, r.Offset(), g.Err, valid)
	}
}
