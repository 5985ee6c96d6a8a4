package pcapng

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// capinfosOK fails the test if capinfos reports an error on any of the
// files; skipped (with a log line) when capinfos is missing.
func capinfosOK(t *testing.T, paths ...string) {
	t.Helper()
	if _, err := exec.LookPath("capinfos"); err != nil {
		t.Log("skipping the capinfos check: capinfos not found on PATH")
		return
	}
	out, err := exec.Command("capinfos", append([]string{"-c"}, paths...)...).CombinedOutput()
	if err != nil || strings.Contains(string(out), "capinfos:") {
		t.Errorf("capinfos: %v\n%s", err, out)
	}
}

// TestRepairGarbageTail appends malformed blocks of every kind (and noise)
// to a file: Repair cuts each back to the file, which reads whole.
func TestRepairGarbageTail(t *testing.T) {
	s := newSample()
	full := s.bytes(t)
	le := binary.LittleEndian
	block := func(typ, length, trailer uint32, body int) []byte {
		b := make([]byte, 8+body+4)
		le.PutUint32(b[0:], typ)
		le.PutUint32(b[4:], length)
		le.PutUint32(b[len(b)-4:], trailer)
		return b
	}
	epbBadIface := block(blockEPB, 32+4, 32+4, 24)
	le.PutUint32(epbBadIface[8:], 7) // interface 7 does not exist
	le.PutUint32(epbBadIface[20:], 4)
	epbBigCaplen := block(blockEPB, 32+4, 32+4, 24)
	le.PutUint32(epbBigCaplen[20:], 400)
	isbBadIface := block(blockISB, 24, 24, 12)
	le.PutUint32(isbBadIface[8:], 2)
	shbBadMagic := block(blockSHB, 28, 28, 16)
	shbVersion2 := block(blockSHB, 28, 28, 16)
	le.PutUint32(shbVersion2[8:], byteOrderMagic)
	le.PutUint16(shbVersion2[12:], 2)
	rnd := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 5000)
	for i := range random {
		random[i] = byte(rnd.UintN(256))
	}
	tails := map[string][]byte{
		"zeros":                        make([]byte, 4096),
		"random":                       random,
		"trailer mismatch":             block(blockEPB, 64, 60, 52),
		"huge length":                  block(blockEPB, 0x7ffffffc, 0x7ffffffc, 0),
		"length above the limit":       block(blockEPB, MaxBlockLen+4, MaxBlockLen+4, 0),
		"misaligned length":            block(blockEPB, 45, 45, 33),
		"length below minimum":         block(blockEPB, 8, 8, 0),
		"packet on unknown interface":  epbBadIface,
		"caplen beyond block":          epbBigCaplen,
		"statistics, unknown iface":    isbBadIface,
		"short interface block":        block(blockIDB, 16, 16, 4),
		"short packet block":           block(blockEPB, 28, 28, 16),
		"second SHB bad magic":         shbBadMagic,
		"second SHB version 2":         shbVersion2,
		"torn copy of the last block":  full[len(full)-24 : len(full)-10],
		"0xff fill":                    bytes.Repeat([]byte{0xff}, 100),
		"simple packet, no interfaces": append(append([]byte(nil), full[:le.Uint32(full[4:])]...), block(blockSPB, 16, 16, 4)...),
	}
	dir := t.TempDir()
	var paths []string
	for name, tail := range tails {
		path := filepath.Join(dir, name+".pcapng")
		if err := os.WriteFile(path, append(bytes.Clone(full), tail...), 0o600); err != nil {
			t.Fatal(err)
		}
		res, err := Repair(path)
		wantValid := int64(len(full))
		if name == "simple packet, no interfaces" { // a new section without interfaces, then the bad block
			wantValid += int64(le.Uint32(full[4:]))
		}
		if err != nil || res.Valid != wantValid || res.Stop == nil {
			t.Errorf("%s: Repair = %+v, %v; want %d valid bytes and a reason", name, res, err, wantValid)
			continue
		}
		if g := readAll(t, must(os.ReadFile(path))); g.Err != nil || len(g.Packets) != len(s.packets) {
			t.Errorf("%s: read back %d packets, %v", name, len(g.Packets), g.Err)
		}
		paths = append(paths, path)
	}
	capinfosOK(t, paths...)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestRepairBigEndian repairs a hand-made big-endian file: the byte order
// comes from the section header.
func TestRepairBigEndian(t *testing.T) {
	be := binary.BigEndian
	var b []byte
	put := func(v ...uint32) {
		for _, x := range v {
			b = be.AppendUint32(b, x)
		}
	}
	put(blockSHB, 28, byteOrderMagic, 1<<16, 0xffffffff, 0xffffffff, 28) // SHB v1.0
	put(blockIDB, 20, 1<<16, 0, 20)                                      // IDB Ethernet
	put(blockEPB, 36, 0, 0, 1, 4, 4, 0xdeadbeef, 36)                     // EPB 4 bytes
	good := len(b)
	put(blockEPB, 36, 0, 0, 1, 4, 4) // torn
	path := filepath.Join(t.TempDir(), "be.pcapng")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := Repair(path)
	if err != nil || res.Valid != int64(good) || res.Packets != 1 || res.LastTimestamp != 1000 {
		t.Fatalf("Repair = %+v, %v; want %d bytes, 1 packet at 1 µs", res, err, good)
	}
	if g := readAll(t, must(os.ReadFile(path))); g.Err != nil || len(g.Packets) != 1 || !bytes.Equal(g.Packets[0].Data, []byte{0xde, 0xad, 0xbe, 0xef}) {
		t.Errorf("read back %+v", g)
	}
	capinfosOK(t, path)
}
