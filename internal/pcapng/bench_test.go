package pcapng

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"
	"time"
)

// benchFrames is the size of the files the reader benchmarks read.
const benchFrames = 100_000

// benchFiles are a pcapng and a pcap of benchFrames ARP frames (60 bytes,
// as on the wire), plain and gzip-compressed.
func benchFiles(b *testing.B) map[string][]byte {
	b.Helper()
	var ng bytes.Buffer
	w := NewWriter(&ng)
	w.WriteSection(Section{UserAppl: "bench"})
	w.WriteInterface(Interface{LinkType: LinkTypeEthernet, Name: "eth0"})
	recs := make([][2]uint32, benchFrames)
	data := make([][]byte, benchFrames)
	for i := range benchFrames {
		f := append(arpFrame(i), make([]byte, 18)...)
		ts := t0.Add(time.Duration(i) * 37 * time.Microsecond)
		w.WritePacket(0, ts.UnixNano(), len(f), f, "")
		recs[i] = [2]uint32{uint32(ts.Unix()), uint32(ts.Nanosecond() / 1000)}
		data[i] = f
	}
	w.Flush()
	pc := pcapFile(binary.LittleEndian, false, 1, recs, data)
	return map[string][]byte{
		"pcapng": ng.Bytes(), "pcapng.gz": gz(b, ng.Bytes()),
		"pcap": pc, "pcap.gz": gz(b, pc),
	}
}

// BenchmarkReader reads ARP frames; one op is one frame.
func BenchmarkReader(b *testing.B) {
	files := benchFiles(b)
	for _, name := range []string{"pcapng", "pcap", "pcapng.gz", "pcap.gz"} {
		file := files[name]
		b.Run(name, func(b *testing.B) {
			src := bytes.NewReader(file)
			var r *Reader
			var p Packet
			var sum int64
			b.ReportAllocs()
			b.ResetTimer()
			for n := 0; n < b.N; {
				if r == nil {
					b.StopTimer()
					src.Reset(file)
					var err error
					if r, err = NewReader(src); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				err := r.Next(&p)
				if err == io.EOF {
					r = nil
					continue
				}
				if err != nil {
					b.Fatal(err)
				}
				sum += p.Timestamp + int64(len(p.Data))
				n++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mframes/s")
			_ = sum
		})
	}
}

// BenchmarkAppendPacket encodes one 60-byte frame into a reused buffer.
func BenchmarkAppendPacket(b *testing.B) {
	f := append(arpFrame(1), make([]byte, 18)...)
	buf := make([]byte, 0, 512<<10)
	ts := t0.UnixNano()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if len(buf)+PacketLen(len(f), "") > cap(buf) {
			buf = buf[:0]
		}
		buf = AppendPacket(buf, 0, ts+int64(i), len(f), f, "")
	}
}

// BenchmarkWriterPacket writes one 60-byte frame through a Writer.
func BenchmarkWriterPacket(b *testing.B) {
	f := append(arpFrame(1), make([]byte, 18)...)
	w := NewWriter(io.Discard)
	w.WriteSection(Section{})
	w.WriteInterface(Interface{LinkType: LinkTypeEthernet})
	ts := t0.UnixNano()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := w.WritePacket(0, ts+int64(i), len(f), f, ""); err != nil {
			b.Fatal(err)
		}
	}
}

// Reading and writing a packet allocate nothing.
func TestZeroAllocs(t *testing.T) {
	s := newSample()
	file := s.bytes(t)
	r, err := NewReader(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	var p Packet
	perPacket := testing.AllocsPerRun(6, func() { // 7 packets: one for the warm-up run
		if err := r.Next(&p); err != nil {
			t.Fatal(err)
		}
	})
	if perPacket != 0 {
		t.Errorf("Next allocates %.1f times per packet", perPacket)
	}
	w := NewWriter(io.Discard)
	w.WriteSection(s.sec)
	w.WriteInterface(s.ifaces[0])
	writes := testing.AllocsPerRun(1000, func() {
		w.WritePacket(0, 1, 60, arpFrameStatic[:], "comment")
	})
	if writes != 0 {
		t.Errorf("WritePacket allocates %.1f times per packet", writes)
	}
}

var arpFrameStatic = [60]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 0x08, 0x06}
