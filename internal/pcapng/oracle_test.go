package pcapng

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// pcapgo is the test oracle: what the codec writes, pcapgo reads the same,
// and the other way round.

func toNg(ifc Interface) pcapgo.NgInterface {
	return pcapgo.NgInterface{Name: ifc.Name, Comment: ifc.Comment, Description: ifc.Description, Filter: ifc.Filter,
		OS: ifc.OS, LinkType: layers.LinkType(ifc.LinkType), SnapLength: ifc.SnapLen, TimestampResolution: 9}
}

func toNgStats(st Stats) pcapgo.NgInterfaceStatistics {
	s := pcapgo.NgInterfaceStatistics{LastUpdate: time.Unix(0, st.Timestamp),
		PacketsReceived: pcapgo.NgNoValue64, PacketsDropped: pcapgo.NgNoValue64}
	if st.Has&HasStartTime != 0 {
		s.StartTime = time.Unix(0, st.StartTime)
	}
	if st.Has&HasEndTime != 0 {
		s.EndTime = time.Unix(0, st.EndTime)
	}
	if st.Has&HasReceived != 0 {
		s.PacketsReceived = st.Received
	}
	if st.Has&HasDropped != 0 {
		s.PacketsDropped = st.Dropped
	}
	return s
}

// pcapgoWrite writes s with pcapgo's NgWriter (statistics: only the fields
// pcapgo writes).
func pcapgoWrite(t *testing.T, s sample) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&buf, toNg(s.ifaces[0]), pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{
		Hardware: s.sec.Hardware, OS: s.sec.OS, Application: s.sec.UserAppl, Comment: s.sec.Comment}})
	if err != nil {
		t.Fatal(err)
	}
	for _, ifc := range s.ifaces[1:] {
		if _, err := w.AddInterface(toNg(ifc)); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range s.packets {
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, p.Timestamp), CaptureLength: len(p.Data), Length: p.Length, InterfaceIndex: p.Interface}
		var opts pcapgo.NgPacketOptions
		if p.Comment != nil {
			opts.Comments = []string{string(p.Comment)}
		}
		if err := w.WritePacketWithOptions(ci, p.Data, opts); err != nil {
			t.Fatal(err)
		}
	}
	for _, st := range s.stats {
		if err := w.WriteInterfaceStats(st.Interface, toNgStats(st)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pcapgoStats is a sample whose statistics use only what pcapgo writes.
func pcapgoSample() sample {
	s := newSample()
	s.stats = []Stats{
		{Interface: 0, Timestamp: t0.UnixNano() + 1e9, StartTime: t0.UnixNano() - 1e9, EndTime: t0.UnixNano() + 1e9,
			Received: 10, Dropped: 1, Has: HasStartTime | HasEndTime | HasReceived | HasDropped},
		{Interface: 1, Timestamp: t0.UnixNano() + 2e9, Received: 7, Has: HasReceived},
	}
	return s
}

// The codec writes the same bytes as pcapgo for the same content: so ring
// segments stay byte-identical to the ones written through pcapgo before.
func TestWriteMatchesPcapgo(t *testing.T) {
	s := pcapgoSample()
	if d := cmp.Diff(pcapgoWrite(t, s), s.bytes(t)); d != "" {
		t.Errorf("codec output differs from pcapgo's (-pcapgo +codec):\n%s", d)
	}
}

// ngRead is what pcapgo's NgReader reads from b.
type ngRead struct {
	Section  pcapgo.NgSectionInfo
	Ifaces   []pcapgo.NgInterface
	Packets  []gopacket.CaptureInfo
	Data     [][]byte
	Comments [][]string
}

func readNg(t *testing.T, b []byte) ngRead {
	t.Helper()
	r, err := pcapgo.NewNgReader(bytes.NewReader(b), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	var out ngRead
	for {
		data, ci, opts, err := r.ReadPacketDataWithOptions()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ci.AncillaryData = nil
		out.Packets = append(out.Packets, ci)
		out.Data = append(out.Data, data)
		out.Comments = append(out.Comments, opts.Comments)
	}
	out.Section = r.SectionInfo()
	for i := range r.NInterfaces() {
		ifc, err := r.Interface(i)
		if err != nil {
			t.Fatal(err)
		}
		out.Ifaces = append(out.Ifaces, ifc)
	}
	return out
}

// Files the codec writes read the same through pcapgo.
func TestPcapgoReadsCodec(t *testing.T) {
	s := newSample()
	got := readNg(t, s.bytes(t))
	want := ngRead{Section: pcapgo.NgSectionInfo{Hardware: s.sec.Hardware, OS: s.sec.OS, Application: s.sec.UserAppl, Comment: s.sec.Comment}}
	for i, ifc := range s.ifaces {
		n := toNg(ifc)
		// The last statistics block of each interface.
		n.Statistics = pcapgo.NgInterfaceStatistics{PacketsReceived: pcapgo.NgNoValue64, PacketsDropped: pcapgo.NgNoValue64}
		for _, st := range s.stats {
			if st.Interface == i {
				n.Statistics = toNgStats(st)
				n.Statistics.Comment = st.Comment
			}
		}
		want.Ifaces = append(want.Ifaces, n)
	}
	for _, p := range s.packets {
		want.Packets = append(want.Packets, gopacket.CaptureInfo{Timestamp: time.Unix(0, p.Timestamp).UTC(),
			CaptureLength: len(p.Data), Length: p.Length, InterfaceIndex: p.Interface})
		want.Data = append(want.Data, p.Data)
		var c []string
		if p.Comment != nil {
			c = []string{string(p.Comment)}
		}
		want.Comments = append(want.Comments, c)
	}
	opts := []cmp.Option{cmpopts.EquateEmpty(), cmpopts.IgnoreUnexported(pcapgo.NgInterface{}),
		cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })}
	if d := cmp.Diff(want, got, opts...); d != "" {
		t.Errorf("pcapgo reads (-want +got):\n%s", d)
	}
}

// Files pcapgo writes (pcapng, and pcap in µs and ns) read the same
// through the codec.
func TestCodecReadsPcapgo(t *testing.T) {
	s := pcapgoSample()
	g := readAll(t, pcapgoWrite(t, s))
	want := got{Format: FormatPcapng, Section: s.sec, Ifaces: s.ifaces, Sections: 1, Packets: s.packets, Stats: s.stats}
	if d := cmp.Diff(want, g, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("pcapng (-want +got):\n%s", d)
	}

	for _, nano := range []bool{false, true} {
		var buf bytes.Buffer
		w := pcapgo.NewWriter(&buf)
		resol, unit := uint8(6), time.Microsecond
		if nano {
			w = pcapgo.NewWriterNanos(&buf)
			resol, unit = 9, time.Nanosecond
		}
		if err := w.WriteFileHeader(1500, layers.LinkTypeEthernet); err != nil {
			t.Fatal(err)
		}
		var want []Packet
		for _, p := range s.packets {
			ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, p.Timestamp), CaptureLength: len(p.Data), Length: p.Length}
			if err := w.WritePacket(ci, p.Data); err != nil {
				t.Fatal(err)
			}
			want = append(want, Packet{Timestamp: time.Unix(0, p.Timestamp).Truncate(unit).UnixNano(), LinkType: 1,
				Length: p.Length, Data: p.Data, Kind: KindPcap})
		}
		g := readAll(t, buf.Bytes())
		w2 := got{Format: FormatPcap, Ifaces: []Interface{{LinkType: 1, SnapLen: 1500, TSResol: resol}}, Packets: want}
		if d := cmp.Diff(w2, g, cmpopts.EquateEmpty()); d != "" {
			t.Errorf("pcap nano=%v (-want +got):\n%s", nano, d)
		}
	}
}
