package analyze

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"
	"time"

	at "github.com/arpbox/arpbox/analyze/analyzetest"
	"github.com/google/go-cmp/cmp"
)

var base = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func testFrames(n int) []at.Frame {
	var fs []at.Frame
	for i := range n {
		fs = append(fs, at.Frame{Time: base.Add(time.Duration(i) * 1234567 * time.Nanosecond),
			Data: at.Request(at.MAC("02:00:00:00:00:01"), "10.0.0.1", "10.0.0.5")})
	}
	return fs
}

type readResult struct {
	Format    string
	Times     []int64
	Truncated bool
	Err       bool
}

func readAll(t *testing.T, b []byte) readResult {
	t.Helper()
	pr, err := NewPacketReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var res readResult
	res.Format = pr.Format()
	var rec Record
	for {
		err := pr.Next(&rec)
		if err == io.EOF {
			break
		}
		if err != nil {
			res.Err = true
			break
		}
		res.Times = append(res.Times, rec.Time)
	}
	res.Truncated = pr.Truncated()
	return res
}

func frameTimes(fs []at.Frame, res time.Duration) []int64 {
	var out []int64
	for _, f := range fs {
		out = append(out, f.Time.Truncate(res).UnixNano())
	}
	return out
}

func TestReadFormats(t *testing.T) {
	fs := testFrames(5)
	var ng, pc, pc0 bytes.Buffer
	if err := at.WritePcapNG(&ng, fs); err != nil {
		t.Fatal(err)
	}
	if err := at.WritePcap(&pc, 65535, fs); err != nil {
		t.Fatal(err)
	}
	if err := at.WritePcap(&pc0, 0, fs); err != nil { // snaplen 0 in the header
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		b    []byte
		want readResult
	}{
		{"pcapng", ng.Bytes(), readResult{Format: "pcapng", Times: frameTimes(fs, 1)}},
		{"pcap", pc.Bytes(), readResult{Format: "pcap", Times: frameTimes(fs, time.Microsecond)}},
		{"pcap snaplen 0", pc0.Bytes(), readResult{Format: "pcap", Times: frameTimes(fs, time.Microsecond)}},
		{"pcapng cut in last block", ng.Bytes()[:ng.Len()-7], readResult{Format: "pcapng", Times: frameTimes(fs[:4], 1), Truncated: true}},
		{"pcapng cut in block header", ng.Bytes()[:ng.Len()-len(fs[4].Data)-30], readResult{Format: "pcapng", Times: frameTimes(fs[:4], 1), Truncated: true}},
		{"pcap cut in last record", pc.Bytes()[:pc.Len()-3], readResult{Format: "pcap", Times: frameTimes(fs[:4], time.Microsecond), Truncated: true}},
		{"pcapng two sections", append(append([]byte{}, ng.Bytes()...), ng.Bytes()...), readResult{Format: "pcapng", Times: append(frameTimes(fs, 1), frameTimes(fs, 1)...)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, readAll(t, tc.b)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

// pcapng with a microsecond interface (no if_tsresol), a 2^-10 interface,
// a simple packet block and an obsolete packet block, big-endian.
func TestReadPcapNGResolutions(t *testing.T) {
	be := binary.BigEndian
	var b bytes.Buffer
	block := func(typ uint32, body []byte) {
		for len(body)%4 != 0 {
			body = append(body, 0)
		}
		n := uint32(12 + len(body))
		binary.Write(&b, be, typ)
		binary.Write(&b, be, n)
		b.Write(body)
		binary.Write(&b, be, n)
	}
	shb := be.AppendUint32(nil, 0x1a2b3c4d)
	shb = be.AppendUint16(shb, 1)
	shb = be.AppendUint16(shb, 0)
	shb = be.AppendUint64(shb, ^uint64(0))
	block(0x0a0d0d0a, shb)
	idb0 := be.AppendUint16(nil, 1)
	idb0 = be.AppendUint16(idb0, 0)
	idb0 = be.AppendUint32(idb0, 0)
	block(1, idb0)
	idb1 := be.AppendUint16(nil, 1)
	idb1 = be.AppendUint16(idb1, 0)
	idb1 = be.AppendUint32(idb1, 0)
	idb1 = append(idb1, 0, 9, 0, 1, 0x80|10, 0, 0, 0, 0, 0, 0, 0)
	block(1, idb1)
	frame := at.Request(at.MAC("02:00:00:00:00:01"), "10.0.0.1", "10.0.0.5")
	epb := func(id uint32, ts uint64) []byte {
		x := be.AppendUint32(nil, id)
		x = be.AppendUint32(x, uint32(ts>>32))
		x = be.AppendUint32(x, uint32(ts))
		x = be.AppendUint32(x, uint32(len(frame)))
		x = be.AppendUint32(x, uint32(len(frame)))
		return append(x, frame...)
	}
	us := uint64(base.UnixMicro()) + 1
	block(6, epb(0, us))
	sec := uint64(base.Unix())
	block(6, epb(1, sec<<10|512)) // half a second
	spb := be.AppendUint32(nil, uint32(len(frame)))
	block(3, append(spb, frame...))
	opb := be.AppendUint16(nil, 0)
	opb = be.AppendUint16(opb, 0)
	opb = be.AppendUint32(opb, uint32(us>>32))
	opb = be.AppendUint32(opb, uint32(us))
	opb = be.AppendUint32(opb, uint32(len(frame)))
	opb = be.AppendUint32(opb, uint32(len(frame)))
	block(2, append(opb, frame...))
	got := readAll(t, b.Bytes())
	want := readResult{Format: "pcapng", Times: []int64{
		base.UnixNano() + 1000,
		base.UnixNano() + 5e8,
		base.UnixNano() + 5e8, // simple packet: previous time
		base.UnixNano() + 1000,
	}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestDecode(t *testing.T) {
	gw, srv := at.MAC("02:00:00:00:00:01"), at.MAC("02:00:00:00:00:05")
	for _, tc := range []struct {
		name  string
		frame []byte
		kind  Kind
		vlan  uint32
	}{
		{"request", at.Request(gw, "10.0.0.1", "10.0.0.5"), KindRequest, 0},
		{"request qinq", at.Request(gw, "10.0.0.1", "10.0.0.5", 10, 20), KindRequest, 10<<12 | 20},
		{"reply vlan", at.Reply(srv, "10.0.0.5", gw, "10.0.0.1", 7), KindReply, 7 << 12},
		{"probe", at.Probe(gw, "10.0.0.9"), KindProbe, 0},
		{"announcement", at.Announcement(gw, "10.0.0.1"), KindAnnouncement, 0},
		{"gratuitous", at.Gratuitous(gw, "10.0.0.1"), KindGratuitousReply, 0},
		{"ns", at.NeighborSolicitation(gw, "2001:db8::1", "2001:db8::5"), KindRequest, 0},
		{"na", at.NeighborAdvertisement(srv, "2001:db8::5", gw, "2001:db8::1"), KindReply, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p Packet
			if err := Decode(LinkEthernet, tc.frame, &p); err != nil {
				t.Fatal(err)
			}
			if p.Kind() != tc.kind || p.VLANKey() != tc.vlan {
				t.Errorf("kind %v vlan %x, want %v %x", p.Kind(), p.VLANKey(), tc.kind, tc.vlan)
			}
			allocs := testing.AllocsPerRun(100, func() { _ = decode(LinkEthernet, tc.frame, &p) })
			if allocs != 0 {
				t.Errorf("decode allocates %v times", allocs)
			}
		})
	}
}

func TestLatencyQuantiles(t *testing.T) {
	var l latency
	for i := int64(1); i <= 1000; i++ {
		l.add(i * 1000) // 1 µs .. 1 ms
	}
	for _, q := range []struct {
		q    float64
		want int64
	}{{0.5, 500_000}, {0.99, 990_000}} {
		got := l.quantile(q.q)
		if got < q.want || float64(got) > float64(q.want)*1.13 {
			t.Errorf("q%.2f = %d, want %d within 13%%", q.q, got, q.want)
		}
	}
	if l.max != 1_000_000 {
		t.Errorf("max = %d", l.max)
	}
}
