package snapshot

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// writeTestSection writes a small pcapng with our writer.
func writeTestSection(t testing.TB, n int) []byte {
	var buf bytes.Buffer
	nw := newNgWriter(&buf)
	if _, err := nw.writeSHB(sectionInfo{Comment: "c", UserAppl: "arpbox test"}, 16); err != nil {
		t.Fatal(err)
	}
	nw.writeIDB(ifaceInfo{Name: "eth0", Filter: "arp", OS: "Linux", LinkType: linkTypeEthernet})
	nw.writeIDB(ifaceInfo{Name: "eth1", LinkType: linkTypeEthernet, SnapLen: 128})
	for i := range n {
		nw.writeEPB(i%2, at(time.Duration(i)*time.Millisecond).UnixNano(), 60, arpFrame(i%2, uint32(i)), map[bool]string{true: "hello"}[i == 1])
	}
	nw.writeISB(0, at(time.Second), []option{u64Opt(isbIfDrop, 3), u64Opt(isbIfRecv, 9)})
	nw.flush()
	return buf.Bytes()
}

func TestBlockReaderRoundTrip(t *testing.T) {
	b := writeTestSection(t, 5)
	br := newBlockReader(bytes.NewReader(b))
	var stats []ifaceStats
	br.onStats = func(s ifaceStats) { stats = append(stats, s) }
	var got []uint32
	for {
		p, err := br.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if p.ts != at(time.Duration(frameID(p.data))*time.Millisecond).UnixNano() || p.wireLen != 60 {
			t.Errorf("packet %d: ts %d wire %d", frameID(p.data), p.ts, p.wireLen)
		}
		got = append(got, frameID(p.data))
	}
	if diff := cmp.Diff([]uint32{0, 1, 2, 3, 4}, got); diff != "" {
		t.Errorf("ids (-want +got):\n%s", diff)
	}
	want := []ifaceStats{{Iface: 0, Time: at(time.Second), Dropped: 3, Received: 9, HasDrop: true, HasRecv: true}}
	if diff := cmp.Diff(want, stats); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"eth0", "eth1"}, []string{br.ifaces[0].Name, br.ifaces[1].Name}); diff != "" {
		t.Errorf("ifaces (-want +got):\n%s", diff)
	}
	// tshark agrees.
	p := filepath.Join(t.TempDir(), "x.pcapng")
	if err := writeFile(p, b); err != nil {
		t.Fatal(err)
	}
	lines := tshark(t, "-r", p, "-T", "fields", "-e", "frame.interface_name", "-e", "frame.comment")
	if diff := cmp.Diff([]string{"eth0\t", "eth1\thello", "eth0\t", "eth1\t", "eth0\t"}, lines); diff != "" {
		t.Errorf("tshark (-want +got):\n%s", diff)
	}
}

// TestBlockReaderTruncation cuts a file at every length: the reader returns
// the whole packets before the cut and then errTorn (or EOF at a block
// boundary), never a partial packet and never a panic.
func TestBlockReaderTruncation(t *testing.T) {
	b := writeTestSection(t, 4)
	for cut := 0; cut < len(b); cut++ {
		br := newBlockReader(bytes.NewReader(b[:cut]))
		n := 0
		for {
			p, err := br.next()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, errTorn) {
					t.Fatalf("cut %d: unexpected error %v", cut, err)
				}
				break
			}
			if uint32(n) != frameID(p.data) {
				t.Fatalf("cut %d: packet %d has id %d", cut, n, frameID(p.data))
			}
			n++
		}
		if br.off > int64(cut) {
			t.Fatalf("cut %d: reader claims %d valid bytes", cut, br.off)
		}
	}
}

func FuzzBlockReader(f *testing.F) {
	f.Add(writeTestSection(f, 3))
	f.Add([]byte{0x0a, 0x0d, 0x0d, 0x0a, 0x1c, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a})
	f.Fuzz(func(t *testing.T, b []byte) {
		br := newBlockReader(bytes.NewReader(b))
		br.onStats = func(ifaceStats) {}
		for range 10000 {
			p, err := br.next()
			if err != nil {
				return
			}
			if p.iface >= len(br.ifaces) || len(p.data) > len(b) {
				t.Fatalf("bad packet %+v", p)
			}
		}
	})
}
