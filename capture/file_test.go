package capture

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/arpbox/arpbox/analyze"
	"github.com/arpbox/arpbox/internal/pcapng"
)

type replayed struct {
	Iface  int
	Time   time.Time
	Length int
	Data   []byte
}

// replay runs ReplayFile and returns what it sent and its error.
func replay(t *testing.T, path string, f Filter) ([]replayed, error) {
	t.Helper()
	out := make(chan *Batch, 4)
	errc := make(chan error, 1)
	go func() { errc <- ReplayFile(context.Background(), path, f, out) }()
	var got []replayed
	for {
		select {
		case b := <-out:
			for _, fr := range b.Frames {
				got = append(got, replayed{b.Iface, fr.Time.UTC(), fr.Length, bytes.Clone(fr.Data)})
			}
			b.Release()
		case err := <-errc:
			for {
				select {
				case b := <-out:
					for _, fr := range b.Frames {
						got = append(got, replayed{b.Iface, fr.Time.UTC(), fr.Length, bytes.Clone(fr.Data)})
					}
					b.Release()
				default:
					return got, err
				}
			}
		}
	}
}

// fileFrames are written to the test files: ARP on interface 0 and 1,
// IPv4 in between, one ARP truncated by a snaplen.
func fileFrames() []replayed {
	t0 := time.Date(2026, 11, 26, 1, 2, 3, 123456789, time.UTC)
	return []replayed{
		{0, t0, 42, arpFrame()},
		{0, t0.Add(time.Millisecond), 46, arpFrame(tagQ)},
		{1, t0.Add(2 * time.Millisecond), 42, arpFrame()},
		{1, t0.Add(3 * time.Millisecond), 46, ether(0x0800, ipv4UDPPayload())},
		{0, t0.Add(4 * time.Millisecond), 1000, arpFrame()[:30]},
	}
}

func wantARP(frames []replayed, pcap bool) []replayed {
	var want []replayed
	for _, f := range frames {
		if mustParseArp.Match(f.Data) {
			if pcap {
				f.Iface = 0
			}
			want = append(want, f)
		}
	}
	return want
}

var mustParseArp, _ = ParseFilter("arp")

// writePcap writes frames as a nanosecond pcap and returns the file and the
// offsets where the header and then each record end.
func writePcap(t *testing.T, frames []replayed) (string, []int) {
	t.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriterNanos(&buf)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	ends := []int{buf.Len()}
	for _, f := range frames {
		ci := gopacket.CaptureInfo{Timestamp: f.Time, CaptureLength: len(f.Data), Length: f.Length}
		if err := w.WritePacket(ci, f.Data); err != nil {
			t.Fatal(err)
		}
		ends = append(ends, buf.Len())
	}
	path := filepath.Join(t.TempDir(), "x.pcap")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, ends
}

// writePcapng writes frames as pcapng with two Ethernet interfaces.
func writePcapng(t *testing.T, frames []replayed) (string, []int) {
	t.Helper()
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{Name: "eth0", LinkType: layers.LinkTypeEthernet, SnapLength: 65535, TimestampResolution: 9}, pcapgo.DefaultNgWriterOptions)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.AddInterface(pcapgo.NgInterface{Name: "eth1", LinkType: layers.LinkTypeEthernet, SnapLength: 65535, TimestampResolution: 9}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	ends := []int{buf.Len()}
	for _, f := range frames {
		ci := gopacket.CaptureInfo{Timestamp: f.Time, CaptureLength: len(f.Data), Length: f.Length, InterfaceIndex: f.Iface}
		if err := w.WritePacket(ci, f.Data); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		ends = append(ends, buf.Len())
	}
	path := filepath.Join(t.TempDir(), "x.pcapng")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, ends
}

func TestReplayFile(t *testing.T) {
	frames := fileFrames()
	pcap, _ := writePcap(t, frames)
	pcapng, _ := writePcapng(t, frames)
	gz := filepath.Join(t.TempDir(), "x.pcap.gz")
	raw, _ := os.ReadFile(pcap)
	var zbuf bytes.Buffer
	zw := gzip.NewWriter(&zbuf)
	zw.Write(raw)
	zw.Close()
	os.WriteFile(gz, zbuf.Bytes(), 0o644)

	tests := []struct {
		name   string
		path   string
		filter Filter
		want   []replayed
	}{
		{"pcap arp", pcap, mustParseArp, wantARP(frames, true)},
		{"pcapng arp", pcapng, mustParseArp, wantARP(frames, false)},
		{"pcapng all", pcapng, Filter{}, frames},
		{"gzip pcap", gz, mustParseArp, wantARP(frames, true)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := replay(t, tt.path, tt.filter)
			if err != nil {
				t.Fatalf("ReplayFile: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("frames (-want +got):\n%s", diff)
			}
		})
	}
}

// Cutting a file anywhere after its header returns the frames before the
// cut, and ErrTruncated unless the cut falls between records.
func TestReplayFileTruncated(t *testing.T) {
	frames := fileFrames()
	for _, format := range []string{"pcap", "pcapng"} {
		t.Run(format, func(t *testing.T) {
			path, ends := writePcap(t, frames)
			if format == "pcapng" {
				path, ends = writePcapng(t, frames)
			}
			full, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			records, bounds := ends[1:], ends
			if format == "pcapng" { // every block boundary is a clean end
				bounds = records
				for off := 0; off < ends[0]; {
					off += int(binary.LittleEndian.Uint32(full[off+4:]))
					bounds = append(bounds, off)
				}
			}
			for cut := 1; cut < len(full); cut++ {
				cutPath := filepath.Join(t.TempDir(), "cut")
				if err := os.WriteFile(cutPath, full[:cut], 0o644); err != nil {
					t.Fatal(err)
				}
				got, err := replay(t, cutPath, Filter{})
				complete, boundary := 0, false
				for _, e := range records {
					if e <= cut {
						complete++
					}
				}
				for _, e := range bounds {
					boundary = boundary || e == cut
				}
				if len(got) != complete {
					t.Errorf("cut at %d: got %d frames, want %d", cut, len(got), complete)
				}
				if boundary && err != nil {
					t.Errorf("cut at %d (between records): error %v, want nil", cut, err)
				}
				if !boundary && !errors.Is(err, ErrTruncated) {
					t.Errorf("cut at %d (inside a record): error %v, want ErrTruncated", cut, err)
				}
			}
		})
	}
}

func TestReplayFileErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o644)
		return p
	}
	tests := []struct {
		path    string
		wantErr string
	}{
		{filepath.Join(dir, "missing"), "no such file"},
		{write("empty", nil), "empty file"},
		{write("text", []byte("hello world, not a capture")), "not a pcap or pcapng file"},
		{write("short", []byte{0xd4, 0xc3}), "truncated"},
	}
	for _, tt := range tests {
		_, err := replay(t, tt.path, Filter{})
		if runtime.GOOS == "windows" && tt.wantErr == "no such file" {
			// Windows words it "The system cannot find the file specified".
			if !errors.Is(err, os.ErrNotExist) {
				t.Errorf("ReplayFile(%s) = %v, want os.ErrNotExist", filepath.Base(tt.path), err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("ReplayFile(%s) = %v, want an error containing %q", filepath.Base(tt.path), err, tt.wantErr)
		}
	}
	// A link type neither replay nor the report reads: a Frame Relay pcap.
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	w.WriteFileHeader(65535, layers.LinkType(107))
	if _, err := replay(t, write("frelay", buf.Bytes()), Filter{}); err == nil || !strings.Contains(err.Error(), "link type 107: no interface of a link type arpbox reads") {
		t.Errorf("ReplayFile(Frame Relay pcap) = %v, want a link type error", err)
	}
}

func TestReplayFileCancel(t *testing.T) {
	path, _ := writePcap(t, fileFrames())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := ReplayFile(ctx, path, Filter{}, make(chan *Batch)); err != nil {
		t.Errorf("ReplayFile with a cancelled context = %v, want nil", err)
	}
}

// tsharkCounts reads path with tshark once and counts all frames, ARP
// frames and NDP NS/NA frames.
func tsharkCounts(t *testing.T, path string) map[string]int {
	t.Helper()
	out, err := exec.Command("tshark", "-r", path, "-T", "fields", "-E", "separator=,", "-e", "frame.number", "-e", "arp.opcode", "-e", "icmpv6.type").Output()
	if err != nil {
		t.Fatalf("tshark -r %s: %v", path, err)
	}
	n := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, ",")
		if len(f) != 3 {
			continue
		}
		n[""]++
		arp := f[1] != ""
		ndp := f[2] == "135" || f[2] == "136"
		if arp {
			n["arp"]++
		}
		if ndp {
			n["ndp"]++
		}
		if arp || ndp {
			n["arp+ndp"]++
		}
	}
	return n
}

func TestReplayTcpdumpFiles(t *testing.T) {
	for _, tool := range []string{"tshark", "editcap"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("skipping: %s not found on PATH (CI installs it via .ci/run)", tool)
		}
	}
	// testdata/arp-tcpdump.pcap: written by tcpdump 4.99 in
	// TestLiveAgainstTcpdump (go test -run LiveAgainstTcpdump ./capture -args -update);
	// the pcapng is made from it by editcap.
	pcap := filepath.Join("testdata", "arp-tcpdump.pcap")
	pcapng := filepath.Join(t.TempDir(), "arp.pcapng")
	if out, err := exec.Command("editcap", "-F", "pcapng", pcap, pcapng).CombinedOutput(); err != nil {
		t.Fatalf("editcap: %v: %s", err, out)
	}
	for _, path := range []string{pcap, pcapng} {
		want := tsharkCounts(t, path)
		if want["arp"] == 0 || want["ndp"] == 0 || want[""] <= want["arp+ndp"] {
			t.Fatalf("%s: tshark counts %v; want ARP, NDP and other frames", path, want)
		}
		for _, spec := range []string{"", "arp", "ndp", "arp+ndp"} {
			var f Filter
			if spec != "" {
				f = mustParse(t, spec)
			}
			got, err := replay(t, path, f)
			if err != nil {
				t.Fatalf("ReplayFile(%s): %v", path, err)
			}
			if len(got) != want[spec] {
				t.Errorf("%s filter %q: ReplayFile sent %d frames, tshark counts %d", filepath.Base(path), spec, len(got), want[spec])
			}
		}
	}
}

// FuzzReplayFile: any bytes give frames and nil or an error, never a panic
// or a hang; the seeds are tcpdump's file, whole and torn.
func FuzzReplayFile(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("testdata", "arp-tcpdump.pcap")); err == nil {
		f.Add(b[:len(b)-3]) // torn
	}
	if b, err := os.ReadFile(filepath.Join("testdata", "arp-tcpdump.pcap")); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "f")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := replay(t, path, mustParseArp)
		fi, ierr := ReadFileInfo(path)
		for _, fr := range got {
			if ierr != nil || !mustParseArp.matchLink(fi.Interfaces[fr.Iface].LinkType, fr.Data) {
				t.Fatalf("frame % x does not pass the filter it was replayed with (%v)", fr.Data, ierr)
			}
		}
		_ = err
	})
}

func TestFileInterfaces(t *testing.T) {
	pcap, _ := writePcap(t, fileFrames())
	pcapng, _ := writePcapng(t, fileFrames())
	tests := []struct {
		path string
		want []string
	}{
		{pcap, []string{"x.pcap"}},
		{pcapng, []string{"eth0", "eth1"}},
	}
	for _, tt := range tests {
		got, err := FileInterfaces(tt.path)
		if err != nil {
			t.Fatalf("FileInterfaces(%s): %v", tt.path, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("FileInterfaces(%s) (-want +got):\n%s", filepath.Base(tt.path), diff)
		}
	}
	if _, err := FileInterfaces(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("FileInterfaces(missing file) = nil error")
	}
}

// TestReplayFileLinkTypes: a pcapng replays the frames of its Ethernet
// interfaces and skips those of a raw-IP one, whichever comes first; a
// section of a version the reader does not know is refused.
func TestReplayFileLinkTypes(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 1, 2, 3, 0, time.UTC)
	write := func(first, second layers.LinkType) string {
		var buf bytes.Buffer
		w, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{Name: "a", LinkType: first, TimestampResolution: 9}, pcapgo.DefaultNgWriterOptions)
		if err != nil {
			t.Fatal(err)
		}
		w.AddInterface(pcapgo.NgInterface{Name: "b", LinkType: second, TimestampResolution: 9})
		for i, iface := range []int{0, 1, 0} {
			data := arpFrame()
			ci := gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * time.Second), CaptureLength: len(data), Length: len(data), InterfaceIndex: iface}
			if err := w.WritePacket(ci, data); err != nil {
				t.Fatal(err)
			}
		}
		w.Flush()
		path := filepath.Join(t.TempDir(), "x.pcapng")
		os.WriteFile(path, buf.Bytes(), 0o644)
		return path
	}
	const frameRelay = layers.LinkType(107) // neither replay nor the report reads it
	got, err := replay(t, write(layers.LinkTypeEthernet, frameRelay), Filter{})
	if err != nil || len(got) != 2 || got[0].Time != t0 || got[1].Time != t0.Add(2*time.Second) {
		t.Errorf("Ethernet then Frame Relay: %d frames %v, %v; want the 2 Ethernet ones", len(got), got, err)
	}
	got, err = replay(t, write(frameRelay, layers.LinkTypeEthernet), Filter{})
	if err != nil || len(got) != 1 || got[0].Iface != 1 || got[0].Time != t0.Add(time.Second) {
		t.Errorf("Frame Relay then Ethernet: %d frames %v, %v; want the Ethernet one, on interface 1", len(got), got, err)
	}
	path := write(layers.LinkTypeEthernet, layers.LinkTypeEthernet)
	b, _ := os.ReadFile(path)
	b[12] = 2 // section header version 2.0
	os.WriteFile(path, b, 0o644)
	if _, err := replay(t, path, Filter{}); err == nil || !strings.Contains(err.Error(), "version 2.0") {
		t.Errorf("section version 2.0: %v, want a version error", err)
	}
}

// TestReplayReadsWhatTheReportReads: replay keeps, of every link type the
// report decodes (802.11 behind radiotap, IPoIB, SLL2, …), the ARP frames
// the report reads, and nothing of a link type it does not (Frame Relay).
func TestReplayReadsWhatTheReportReads(t *testing.T) {
	const path = "../analyze/testdata/encap.pcapng"
	fi, err := ReadFileInfo(path)
	if err != nil {
		t.Fatal(err)
	}
	arp, err := ParseFilter("arp")
	if err != nil {
		t.Fatal(err)
	}
	got, err := replay(t, path, arp)
	if err != nil {
		t.Fatal(err)
	}
	replayed := map[int]int{}
	for _, f := range got {
		replayed[f.Iface]++
	}
	// What the report reads, per interface, straight from the file.
	r, err := openReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	want := map[int]int{}
	var p pcapng.Packet
	for r.Next(&p) == nil {
		var ap analyze.Packet
		if p.LinkType != uint16(layers.LinkTypeEthernet) && analyze.Decode(int(p.LinkType), p.Data, &ap) == nil && ap.Proto == analyze.ProtoARP {
			want[fi.iface(p.Section, p.Interface)]++
		}
	}
	nonEthernet := 0
	for i, in := range fi.Interfaces {
		if in.LinkType == uint16(layers.LinkTypeEthernet) {
			continue
		}
		nonEthernet++
		if replayed[i] != want[i] {
			t.Errorf("interface %d (link type %d): %d frames replayed, the report reads %d ARP", i, in.LinkType, replayed[i], want[i])
		}
		if in.LinkType == 107 && replayed[i] != 0 {
			t.Errorf("Frame Relay: %d frames replayed, want none", replayed[i])
		}
	}
	if nonEthernet < 3 {
		t.Fatalf("%s has %d non-Ethernet interfaces, want the corpus's several", path, nonEthernet)
	}
	t.Logf("replayed per interface %v; the report reads (non-Ethernet) %v", replayed, want)
}
