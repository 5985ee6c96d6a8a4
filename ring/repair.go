package ring

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"
)

// pcapng block types and limits used by the scanner.
const (
	blockSHB = 0x0A0D0D0A
	blockIDB = 0x00000001
	blockOPB = 0x00000002 // obsolete packet block
	blockSPB = 0x00000003
	blockISB = 0x00000005
	blockEPB = 0x00000006

	byteOrderMagic = 0x1A2B3C4D

	// maxBlockLen is the largest block the scanner accepts; Wireshark
	// refuses larger ones too.
	maxBlockLen = 16 << 20
)

// scanResult describes the well-formed prefix of a pcapng stream.
type scanResult struct {
	valid   int64     // bytes of complete, well-formed blocks from the start
	ifaces  int       // interface description blocks in the last section
	packets uint64    // packet blocks in the valid prefix
	lastTS  time.Time // timestamp of the last enhanced packet block (zero if none)
}

// usable reports whether the valid prefix is a file readers accept: a
// section header and at least one interface description.
func (r scanResult) usable() bool { return r.valid > 0 && r.ifaces > 0 }

// scan reads a pcapng stream block by block, checking each block's framing
// (byte order from the section header, total length at both ends, 32-bit
// alignment, sane sizes, interface ids that exist), and stops at the first
// block that is torn or malformed. It returns an error only when reading
// fails; a malformed stream is described by the result.
func scan(r io.Reader) (scanResult, error) {
	var (
		res   scanResult
		bo    binary.ByteOrder
		hdr   [12]byte
		body  []byte
		tsres []tsUnit // per interface of the current section
	)
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		_, err := io.ReadFull(br, hdr[:])
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return res, nil
		}
		if err != nil {
			return res, err
		}
		isSHB := hdr[0] == 0x0A && hdr[1] == 0x0D && hdr[2] == 0x0D && hdr[3] == 0x0A
		if isSHB {
			switch {
			case binary.LittleEndian.Uint32(hdr[8:]) == byteOrderMagic:
				bo = binary.LittleEndian
			case binary.BigEndian.Uint32(hdr[8:]) == byteOrderMagic:
				bo = binary.BigEndian
			default:
				return res, nil
			}
		} else if bo == nil {
			return res, nil // must start with a section header
		}
		typ := bo.Uint32(hdr[0:])
		length := bo.Uint32(hdr[4:])
		if length < 12 || length%4 != 0 || length > maxBlockLen {
			return res, nil
		}
		rest := int(length) - len(hdr)
		if cap(body) < rest {
			body = make([]byte, rest, max(rest, 4<<10))
		}
		body = body[:rest]
		_, err = io.ReadFull(br, body)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return res, nil
		}
		if err != nil {
			return res, err
		}
		trailer := hdr[8:]
		if rest >= 4 {
			trailer = body[rest-4:]
		}
		if bo.Uint32(trailer) != length {
			return res, nil
		}
		// body holds the block from offset 12 on (offset 8 is in hdr).
		switch typ {
		case blockSHB:
			if length < 28 || bo.Uint16(body[0:]) != 1 {
				return res, nil
			}
			tsres = tsres[:0]
			res.ifaces = 0
		case blockIDB:
			if length < 20 {
				return res, nil
			}
			tsres = append(tsres, idbTSUnit(bo, body[4:rest-4]))
			res.ifaces++
		case blockEPB:
			if length < 32 {
				return res, nil
			}
			ifid := bo.Uint32(hdr[8:])
			caplen := bo.Uint32(body[8:])
			if int(ifid) >= len(tsres) || caplen > length-32 {
				return res, nil
			}
			ts := uint64(bo.Uint32(body[0:]))<<32 | uint64(bo.Uint32(body[4:]))
			res.lastTS = tsres[ifid].time(ts)
			res.packets++
		case blockSPB:
			if length < 16 || len(tsres) == 0 {
				return res, nil
			}
			res.packets++
		case blockOPB:
			if length < 32 || int(bo.Uint16(hdr[8:])) >= len(tsres) || bo.Uint32(body[8:]) > length-32 {
				return res, nil
			}
			res.packets++
		case blockISB:
			if length < 24 || int(bo.Uint32(hdr[8:])) >= len(tsres) {
				return res, nil
			}
		}
		res.valid += int64(length)
	}
}

// tsUnit converts pcapng timestamps of one interface to time.Time.
type tsUnit struct {
	pow10 bool
	exp   uint8
}

func (u tsUnit) time(ts uint64) time.Time {
	if u.pow10 && u.exp == 9 {
		return time.Unix(0, int64(ts))
	}
	var perSec float64
	if u.pow10 {
		perSec = math.Pow(10, float64(u.exp))
	} else {
		perSec = math.Pow(2, float64(u.exp))
	}
	sec := math.Floor(float64(ts) / perSec)
	frac := float64(ts) - sec*perSec
	return time.Unix(int64(sec), int64(frac/perSec*1e9))
}

// idbTSUnit reads if_tsresol from the options of an interface description
// block (opts starts after the snaplen field). The default is microseconds.
func idbTSUnit(bo binary.ByteOrder, opts []byte) tsUnit {
	u := tsUnit{pow10: true, exp: 6}
	for len(opts) >= 4 {
		code, l := bo.Uint16(opts), int(bo.Uint16(opts[2:]))
		opts = opts[4:]
		if code == 0 || l > len(opts) {
			break
		}
		if code == 9 && l >= 1 {
			u = tsUnit{pow10: opts[0]&0x80 == 0, exp: opts[0] & 0x7f}
		}
		l += (4 - l%4) % 4
		if l > len(opts) {
			break
		}
		opts = opts[l:]
	}
	return u
}

// ValidLength returns the length of the well-formed prefix of the pcapng
// file at path without changing it: readers of the current (.part) segment,
// which may end in a half-flushed block, read only that many bytes.
func ValidLength(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("ring: scan %s: %w", path, err)
	}
	defer f.Close()
	res, err := scan(f)
	if err != nil {
		return 0, fmt.Errorf("ring: scan %s: %w", path, err)
	}
	if res.valid == 0 {
		return 0, fmt.Errorf("ring: scan %s: %w", path, ErrNotPcapng)
	}
	return res.valid, nil
}

// Repair truncates the pcapng file at path after its last complete,
// well-formed block (a torn or garbage tail, as left by a crash or a full
// disk) and syncs it. It scans block lengths itself rather than trusting a
// reader's errors. It returns the file's new length; a file without a
// complete section header block is left alone and ErrNotPcapng returned.
func Repair(path string) (validBytes int64, err error) {
	res, err := repairFile(path)
	if err != nil {
		return 0, err
	}
	return res.valid, nil
}

func repairFile(path string) (scanResult, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return scanResult{}, fmt.Errorf("ring: repair %s: %w", path, err)
	}
	defer f.Close()
	res, err := scan(f)
	if err != nil {
		return res, fmt.Errorf("ring: repair %s: %w", path, err)
	}
	if res.valid == 0 {
		return res, fmt.Errorf("ring: repair %s: %w", path, ErrNotPcapng)
	}
	// The scanner stops at a malformed block without reading the rest, so
	// compare with the file's size.
	st, err := f.Stat()
	if err != nil {
		return res, fmt.Errorf("ring: repair %s: %w", path, err)
	}
	if st.Size() > res.valid {
		if err := f.Truncate(res.valid); err != nil {
			return res, fmt.Errorf("ring: repair %s: truncate to %d bytes: %w", path, res.valid, err)
		}
	}
	// Always: after a crash the valid part may sit only in the page cache,
	// and the caller is about to give it a sealed name.
	if err := f.Sync(); err != nil {
		return res, fmt.Errorf("ring: repair %s: sync: %w", path, err)
	}
	return res, nil
}
