package pcapng

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// ScanResult describes the valid prefix of a pcapng stream.
type ScanResult struct {
	Valid         int64  // bytes of complete, well-formed blocks from the start
	Sections      int    // section headers in the valid prefix
	Interfaces    int    // interfaces declared in its last section
	Packets       uint64 // packet blocks in it
	LastTimestamp int64  // Unix ns of its last packet with a timestamp (0: none)
	// Stop says why the valid prefix ends: nil at a clean end of the
	// input, else a *TruncatedError, an *InvalidError, or an error
	// wrapping ErrFormat when the input is not pcapng at all.
	Stop error
}

// Usable reports whether the valid prefix is a file readers accept: a
// section header and at least one interface description.
func (s ScanResult) Usable() bool { return s.Valid > 0 && s.Interfaces > 0 }

// Scan reads a pcapng stream (not compressed; pcap is refused) block by
// block, checking what Reader checks, and stops at the first block that is
// torn or malformed. It returns an error only when reading fails; a
// malformed stream is described by the result.
func Scan(src io.Reader) (ScanResult, error) {
	var res ScanResult
	r := &Reader{src: src, buf: make([]byte, readBufSize), pcapOnly: true}
	if err := r.start(); err != nil {
		if r.readErr() != nil {
			return res, err
		}
		res.Stop = err
		return res, nil
	}
	var p Packet
	for {
		err := r.Next(&p)
		res.Valid = r.off
		res.Sections = r.sections
		res.Interfaces = len(r.ifaces)
		if err != nil {
			if err == io.EOF {
				return res, nil
			}
			var te *TruncatedError
			var ie *InvalidError
			if !errors.As(err, &te) && !errors.As(err, &ie) {
				return res, err
			}
			res.Stop = err
			return res, nil
		}
		res.Packets++
		if p.Kind != KindSimple {
			res.LastTimestamp = p.Timestamp
		}
	}
}

// Repair truncates the pcapng file at path after its valid prefix (a torn
// or garbage tail, as left by a crash or a full disk) and syncs it, even
// when nothing was cut: after a crash the valid part may sit only in the
// page cache. A file with no valid prefix at all is left alone and the
// error wraps ErrFormat (or ErrTruncated, ErrInvalid: what Stop says).
func Repair(path string) (ScanResult, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return ScanResult{}, fmt.Errorf("repair %s: %w", path, err)
	}
	defer f.Close()
	res, err := Scan(f)
	if err != nil {
		return res, fmt.Errorf("repair %s: %w", path, err)
	}
	if res.Valid == 0 {
		return res, fmt.Errorf("repair %s: %w", path, res.Stop)
	}
	st, err := f.Stat()
	if err != nil {
		return res, fmt.Errorf("repair %s: %w", path, err)
	}
	if st.Size() > res.Valid {
		if err := f.Truncate(res.Valid); err != nil {
			return res, fmt.Errorf("repair %s: truncate to %d bytes: %w", path, res.Valid, err)
		}
	}
	if err := f.Sync(); err != nil {
		return res, fmt.Errorf("repair %s: sync: %w", path, err)
	}
	return res, nil
}

// TrailingStats returns the interface statistics blocks a pcapng file of
// size bytes ends with (the ring writes one per interface when it seals a
// segment), in file order, and the interfaces of the file's first section.
// It reads the headers from the start and then walks back from the end by
// the blocks' trailing lengths, so it reads little of a large file. A file
// that does not end in statistics blocks has none; the error is for a file
// whose headers cannot be read, or a read error.
func TrailingStats(f io.ReaderAt, size int64) ([]Interface, []Stats, error) {
	r := &Reader{src: io.NewSectionReader(f, 0, size), buf: make([]byte, 4<<10), pcapOnly: true}
	if err := r.start(); err != nil {
		return nil, nil, err
	}
	// Interface blocks up to the first other block.
	for r.need(8) {
		b := r.buf[r.pos:r.end]
		if r.u32(b) != blockIDB {
			break
		}
		n := r.u32(b[4:])
		if n < 20 || n%4 != 0 || n > MaxBlockLen || !r.need(int(n)) {
			break
		}
		b = r.buf[r.pos : r.pos+int(n)]
		if r.u32(b[n-4:]) != n {
			break
		}
		if err := r.idb(b[8 : n-4]); err != nil {
			break
		}
		r.consume(int(n))
	}
	if err := r.readErr(); err != nil {
		return nil, nil, err
	}
	ifaces := append([]Interface(nil), r.ifaces...)
	tail := min(size-r.off, 64<<10)
	buf := make([]byte, tail)
	if _, err := f.ReadAt(buf, size-tail); err != nil && !errors.Is(err, io.EOF) {
		return ifaces, nil, fmt.Errorf("read the last %d bytes: %w", tail, err)
	}
	var out []Stats
	for end := len(buf); end >= 24; {
		n := int(r.u32(buf[end-4:]))
		if n < 24 || n%4 != 0 || n > end {
			break
		}
		b := buf[end-n : end]
		if r.u32(b) != blockISB || r.u32(b[4:]) != uint32(n) {
			break
		}
		id := r.u32(b[8:])
		if uint64(id) >= uint64(len(r.ifaces)) {
			break
		}
		st := Stats{Interface: int(id)}
		r.parseStats(&st, r.conv[id], b[8:n-4])
		out = append(out, st)
		end -= n
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return ifaces, out, nil
}
