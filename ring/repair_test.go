package ring

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/arpbox/arpbox/internal/pcapng"
)

// frameLens are the capture lengths written by makeSegment: every padding
// case (len%4 = 0..3).
var frameLens = []int{42, 1500, 60, 61, 62, 63}

// makeSegment writes a segment with one packet per frame length, alternating
// interfaces. If sealed, it is closed (ends with statistics blocks);
// otherwise the flushed .part is copied before the writer is closed. It
// returns the file's bytes.
func makeSegment(t *testing.T, sealed bool) []byte {
	t.Helper()
	clk := &fakeClock{t: t0}
	w := newTestWriter(t, Config{}, clk)
	for i, n := range frameLens {
		clk.Advance(time.Millisecond)
		if err := w.WritePacket(i%2, clk.Now(), n+4, testFrame(n)); err != nil {
			t.Fatal(err)
		}
	}
	var b []byte
	var err error
	if sealed {
		err = w.Close()
		if err == nil {
			b, err = os.ReadFile(segmentFiles(t, w.cfg.Dir)[0])
		}
	} else {
		w.opts.Stats = nil // no counters written by Flush: the file ends in a packet, as a crash leaves it
		err = w.Flush()
		if err == nil {
			b, err = os.ReadFile(w.cur.path)
		}
		w.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func epbLen(caplen int) int { return 32 + caplen + (4-caplen%4)%4 }

// TestRepairTornLastBlock truncates a segment at every byte offset of its
// last block and checks that Repair cuts it back to the block before, that
// the result reads back with every earlier packet, and that capinfos opens
// every repaired file.
func TestRepairTornLastBlock(t *testing.T) {
	for _, tc := range []struct {
		name         string
		sealed       bool
		lastLen      int // length of the last block
		wantPackets  int // packets left after cutting the last block
		wantPrefixed int // packets in the untouched file
	}{
		{"sealed, torn statistics block", true, isbLen, len(frameLens), len(frameLens)},
		{"part, torn packet block", false, epbLen(frameLens[len(frameLens)-1]), len(frameLens) - 1, len(frameLens)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			full := makeSegment(t, tc.sealed)
			lastStart := len(full) - tc.lastLen
			dir := fastTempDir(t)
			var paths []string
			for off := lastStart; off <= len(full); off++ {
				path := filepath.Join(dir, fmt.Sprintf("cut-%06d.pcapng", off))
				if err := os.WriteFile(path, full[:off], 0o600); err != nil {
					t.Fatal(err)
				}
				got, err := Repair(path)
				if err != nil {
					t.Fatalf("Repair(cut at %d): %v", off, err)
				}
				want, wantPkts := int64(lastStart), tc.wantPackets
				if off == len(full) {
					want, wantPkts = int64(len(full)), tc.wantPrefixed
				}
				if got != want {
					t.Errorf("Repair(cut at %d) = %d, want %d", off, got, want)
				}
				if st, err := os.Stat(path); err != nil || st.Size() != want {
					t.Errorf("cut at %d: file is %v bytes (err %v), want %d", off, st.Size(), err, want)
				}
				if n := readBack(t, path); n != wantPkts {
					t.Errorf("cut at %d: read back %d packets, want %d", off, n, wantPkts)
				}
				paths = append(paths, path)
			}
			capinfos(t, paths...)
			tsharkRead(t, paths[len(paths)/2])
		})
	}
}

// TestRepairEveryCut cuts a segment at every byte offset of the whole file
// and checks that Repair keeps exactly the complete blocks before the cut.
func TestRepairEveryCut(t *testing.T) {
	full := makeSegment(t, true)
	// Block boundaries from the framing (the file is known good).
	var bounds []int
	for off := 0; off < len(full); {
		off += int(binary.LittleEndian.Uint32(full[off+4:]))
		bounds = append(bounds, off)
	}
	for cut := 0; cut <= len(full); cut++ {
		want := 0
		for _, b := range bounds {
			if b <= cut {
				want = b
			}
		}
		res, err := pcapng.Scan(bytes.NewReader(full[:cut]))
		if err != nil {
			t.Fatal(err)
		}
		if res.Valid != int64(want) {
			t.Fatalf("Scan(cut at %d).Valid = %d, want %d", cut, res.Valid, want)
		}
	}
}

// TestRepairGarbageTail appends garbage to a segment: Repair cuts it off.
// (Malformed blocks of every kind are internal/pcapng's TestRepairGarbageTail.)
func TestRepairGarbageTail(t *testing.T) {
	full := makeSegment(t, false)
	rnd := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 5000)
	for i := range random {
		random[i] = byte(rnd.UintN(256))
	}
	tails := map[string][]byte{
		"zeros":                   make([]byte, 4096),
		"random":                  random,
		"torn copy of last block": full[len(full)-epbLen(63) : len(full)-10],
		"0xff fill":               bytes.Repeat([]byte{0xff}, 100),
		"second header, torn":     full[:20],
	}
	dir := t.TempDir()
	var paths []string
	for name, tail := range tails {
		path := filepath.Join(dir, name+".pcapng")
		if err := os.WriteFile(path, append(bytes.Clone(full), tail...), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := Repair(path)
		if err != nil {
			t.Errorf("%s: Repair: %v", name, err)
			continue
		}
		if got != int64(len(full)) {
			t.Errorf("%s: Repair = %d, want %d", name, got, len(full))
		}
		if n := readBack(t, path); n != len(frameLens) {
			t.Errorf("%s: read back %d packets, want %d", name, n, len(frameLens))
		}
		paths = append(paths, path)
	}
	capinfos(t, paths...)
}

func TestRepairNotPcapng(t *testing.T) {
	full := makeSegment(t, true)
	dir := t.TempDir()
	for name, b := range map[string][]byte{
		"empty":        nil,
		"torn SHB":     full[:20],
		"not pcapng":   []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		"pcap":         {0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0},
		"bad SHB size": append([]byte{0x0a, 0x0d, 0x0d, 0x0a, 12, 0, 0, 0}, full[8:]...),
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Repair(path); !errors.Is(err, ErrNotPcapng) {
			t.Errorf("%s: Repair error = %v, want ErrNotPcapng", name, err)
		}
		if got, _ := os.ReadFile(path); !bytes.Equal(got, b) {
			t.Errorf("%s: Repair changed a file that is not pcapng", name)
		}
	}
}

func FuzzScan(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 28, 0, 0, 0})
	if b, err := os.ReadFile(filepath.Join("testdata", "segment.pcapng")); err == nil {
		f.Add(b)
		f.Add(b[:len(b)-7])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := pcapng.Scan(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if res.Valid < 0 || res.Valid > int64(len(data)) || res.Valid%4 != 0 {
			t.Fatalf("valid = %d for %d bytes", res.Valid, len(data))
		}
		if res.Valid == 0 {
			return
		}
		again, err := pcapng.Scan(bytes.NewReader(data[:res.Valid]))
		res.Stop = nil // the prefix ends cleanly
		if err != nil || again != res {
			t.Fatalf("rescan of valid prefix = %+v, %v; want %+v", again, err, res)
		}
	})
}
