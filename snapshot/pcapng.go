package snapshot

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"strings"
	"time"
)

// pcapng block types and option codes used by the segment reader and the
// bundle writer (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng).
const (
	blockSHB = 0x0A0D0D0A
	blockIDB = 1
	blockISB = 5
	blockEPB = 6

	byteOrderMagic = 0x1A2B3C4D

	optEnd     = 0
	optComment = 1

	shbHardware = 2
	shbOS       = 3
	shbUserAppl = 4

	ifName        = 2
	ifDescription = 3
	ifTSResol     = 9
	ifFilter      = 11
	ifOS          = 12
	ifTSOffset    = 14

	isbStartTime = 2
	isbEndTime   = 3
	isbIfRecv    = 4
	isbIfDrop    = 5

	linkTypeEthernet = 1

	// maxBlockLen bounds a single block; anything larger is treated as a torn
	// or corrupt tail (a frame is at most a jumbo frame plus options).
	maxBlockLen = 1 << 20
)

// errTorn reports a block that is cut short or malformed: the reader stops there.
var errTorn = errors.New("torn or invalid pcapng block")

// ifaceInfo is one interface description block.
type ifaceInfo struct {
	Name        string
	Description string
	Filter      string
	OS          string
	LinkType    uint16
	SnapLen     uint32
	// resolution: units per second is 10^exp (decimal) or 2^exp (binary)
	resBinary bool
	resExp    uint8
	tsOffset  int64 // seconds
}

// ifaceStats is one interface statistics block.
type ifaceStats struct {
	Iface    int
	Time     time.Time
	Start    time.Time
	End      time.Time
	Received uint64
	Dropped  uint64
	HasRecv  bool
	HasDrop  bool
}

// packet is one enhanced packet block, time in ns since the epoch.
type packet struct {
	ts      int64
	iface   int // interface id within its segment
	wireLen int
	data    []byte
}

// blockReader reads the blocks of one pcapng file and stops at the first
// block that is cut short or malformed, reporting it as errTorn. It never
// reads past a torn block, so a .part file still being written is safe.
type blockReader struct {
	r      *bufio.Reader
	bo     binary.ByteOrder
	buf    []byte
	ifaces []ifaceInfo
	off    int64 // bytes of valid blocks consumed
	shb    bool
	hdr    [12]byte
	// OnStats is called for every interface statistics block.
	onStats func(ifaceStats)
}

func newBlockReader(r io.Reader) *blockReader {
	return &blockReader{r: bufio.NewReaderSize(r, 256<<10), bo: binary.LittleEndian, buf: make([]byte, 0, 4096)}
}

// next returns the next packet. Non-packet blocks are handled internally.
// It returns io.EOF at a clean end and errTorn (wrapped) at a torn tail.
// The packet's data aliases the reader's buffer until the next call.
func (br *blockReader) next() (packet, error) {
	for {
		typ, body, err := br.readBlock()
		if err != nil {
			return packet{}, err
		}
		switch typ {
		case blockSHB:
			// a new section resets interfaces (ring segments have one section)
			br.ifaces = br.ifaces[:0]
		case blockIDB:
			if err := br.parseIDB(body); err != nil {
				return packet{}, err
			}
		case blockISB:
			if st, err := br.parseISB(body); err != nil {
				return packet{}, err
			} else if br.onStats != nil {
				br.onStats(st)
			}
		case blockEPB:
			return br.parseEPB(body)
		}
	}
}

// readBlock reads one whole block and returns its type and body (the bytes
// between the length word and the trailing length word).
func (br *blockReader) readBlock() (uint32, []byte, error) {
	hdr := br.hdr[:] // in the reader, not on the heap for every block
	n, err := io.ReadFull(br.r, hdr[:8])
	if err != nil {
		if err == io.EOF && n == 0 {
			return 0, nil, io.EOF
		}
		return 0, nil, fmt.Errorf("block header at offset %d: %w", br.off, errTorn)
	}
	typ := br.bo.Uint32(hdr[0:4])
	if typ == blockSHB {
		if _, err := io.ReadFull(br.r, hdr[8:12]); err != nil {
			return 0, nil, fmt.Errorf("section header at offset %d: %w", br.off, errTorn)
		}
		switch {
		case binary.LittleEndian.Uint32(hdr[8:12]) == byteOrderMagic:
			br.bo = binary.LittleEndian
		case binary.BigEndian.Uint32(hdr[8:12]) == byteOrderMagic:
			br.bo = binary.BigEndian
		default:
			return 0, nil, fmt.Errorf("section header at offset %d: bad byte-order magic: %w", br.off, errTorn)
		}
		br.shb = true
	} else if !br.shb {
		return 0, nil, fmt.Errorf("file does not start with a section header: %w", errTorn)
	}
	length := br.bo.Uint32(hdr[4:8])
	if length < 12 || length%4 != 0 || length > maxBlockLen {
		return 0, nil, fmt.Errorf("block at offset %d: bad length %d: %w", br.off, length, errTorn)
	}
	rest := int(length) - 8
	if typ == blockSHB {
		rest -= 4
		if rest < 4+8+4 {
			return 0, nil, fmt.Errorf("section header at offset %d: too short: %w", br.off, errTorn)
		}
	}
	if cap(br.buf) < rest {
		br.buf = make([]byte, rest)
	}
	b := br.buf[:rest]
	if _, err := io.ReadFull(br.r, b); err != nil {
		return 0, nil, fmt.Errorf("block at offset %d: cut short: %w", br.off, errTorn)
	}
	if br.bo.Uint32(b[rest-4:]) != length {
		return 0, nil, fmt.Errorf("block at offset %d: trailing length mismatch: %w", br.off, errTorn)
	}
	br.off += int64(length)
	return typ, b[:rest-4], nil
}

// eachOption calls fn for each option in opts; it tolerates a missing end marker.
func (br *blockReader) eachOption(opts []byte, fn func(code uint16, val []byte)) error {
	for len(opts) >= 4 {
		code := br.bo.Uint16(opts[0:2])
		l := int(br.bo.Uint16(opts[2:4]))
		if code == optEnd {
			return nil
		}
		padded := (l + 3) &^ 3
		if 4+padded > len(opts) {
			return fmt.Errorf("option %d overruns its block: %w", code, errTorn)
		}
		fn(code, opts[4:4+l])
		opts = opts[4+padded:]
	}
	return nil
}

func (br *blockReader) parseIDB(b []byte) error {
	if len(b) < 8 {
		return fmt.Errorf("interface block too short: %w", errTorn)
	}
	in := ifaceInfo{LinkType: br.bo.Uint16(b[0:2]), SnapLen: br.bo.Uint32(b[4:8]), resExp: 6}
	err := br.eachOption(b[8:], func(code uint16, v []byte) {
		switch code {
		case ifName:
			in.Name = string(v)
		case ifDescription:
			in.Description = string(v)
		case ifFilter:
			if len(v) > 0 && v[0] == 0 {
				in.Filter = string(v[1:])
			}
		case ifOS:
			in.OS = string(v)
		case ifTSResol:
			if len(v) >= 1 {
				in.resBinary = v[0]&0x80 != 0
				in.resExp = v[0] & 0x7f
			}
		case ifTSOffset:
			if len(v) >= 8 {
				in.tsOffset = int64(br.bo.Uint64(v))
			}
		}
	})
	if err != nil {
		return err
	}
	if (!in.resBinary && in.resExp > 18) || (in.resBinary && in.resExp > 63) {
		return fmt.Errorf("interface %q: unsupported timestamp resolution: %w", in.Name, errTorn)
	}
	br.ifaces = append(br.ifaces, in)
	return nil
}

// nanos converts a raw pcapng timestamp on interface in to ns since the epoch.
func (in *ifaceInfo) nanos(raw uint64) int64 {
	var ns int64
	if in.resBinary {
		hi, lo := bits.Mul64(raw, 1e9)
		ns = int64(hi<<(64-in.resExp) | lo>>in.resExp) // (raw*1e9) >> exp without overflow
	} else {
		switch {
		case in.resExp == 9:
			ns = int64(raw)
		case in.resExp < 9:
			ns = int64(raw) * pow10(9-in.resExp)
		default:
			ns = int64(raw / uint64(pow10(in.resExp-9)))
		}
	}
	return ns + in.tsOffset*1e9
}

func pow10(n uint8) int64 {
	p := int64(1)
	for range n {
		p *= 10
	}
	return p
}

func (br *blockReader) rawTime(b []byte) uint64 {
	return uint64(br.bo.Uint32(b[0:4]))<<32 | uint64(br.bo.Uint32(b[4:8]))
}

func (br *blockReader) parseEPB(b []byte) (packet, error) {
	if len(b) < 20 {
		return packet{}, fmt.Errorf("packet block too short: %w", errTorn)
	}
	id := int(br.bo.Uint32(b[0:4]))
	if id >= len(br.ifaces) {
		return packet{}, fmt.Errorf("packet on undeclared interface %d: %w", id, errTorn)
	}
	capLen := int(br.bo.Uint32(b[12:16]))
	if capLen > len(b)-20 {
		return packet{}, fmt.Errorf("packet capture length %d overruns its block: %w", capLen, errTorn)
	}
	return packet{
		ts:      br.ifaces[id].nanos(br.rawTime(b[4:12])),
		iface:   id,
		wireLen: int(br.bo.Uint32(b[16:20])),
		data:    b[20 : 20+capLen],
	}, nil
}

func (br *blockReader) parseISB(b []byte) (ifaceStats, error) {
	if len(b) < 12 {
		return ifaceStats{}, fmt.Errorf("statistics block too short: %w", errTorn)
	}
	id := int(br.bo.Uint32(b[0:4]))
	if id >= len(br.ifaces) {
		return ifaceStats{}, fmt.Errorf("statistics for undeclared interface %d: %w", id, errTorn)
	}
	in := &br.ifaces[id]
	st := ifaceStats{Iface: id, Time: time.Unix(0, in.nanos(br.rawTime(b[4:12]))).UTC()}
	err := br.eachOption(b[12:], func(code uint16, v []byte) {
		if len(v) < 8 {
			return
		}
		switch code {
		case isbStartTime:
			st.Start = time.Unix(0, in.nanos(br.rawTime(v))).UTC()
		case isbEndTime:
			st.End = time.Unix(0, in.nanos(br.rawTime(v))).UTC()
		case isbIfRecv:
			st.Received, st.HasRecv = br.bo.Uint64(v), true
		case isbIfDrop:
			st.Dropped, st.HasDrop = br.bo.Uint64(v), true
		}
	})
	return st, err
}

// ngWriter writes a little-endian pcapng section with nanosecond interfaces.
type ngWriter struct {
	w   *bufio.Writer
	buf []byte
	hdr [8]byte
}

func newNgWriter(w io.Writer) *ngWriter {
	return &ngWriter{w: bufio.NewWriterSize(w, 1<<20), buf: make([]byte, 0, 4096)}
}

type option struct {
	code uint16
	val  []byte
}

func strOpt(code uint16, s string) option { return option{code, []byte(s)} }

func u64Opt(code uint16, v uint64) option {
	return option{code, binary.LittleEndian.AppendUint64(nil, v)}
}

// timeOpt encodes t as a pcapng timestamp (high word first) in ns.
func timeOpt(code uint16, t time.Time) option {
	ns := uint64(t.UnixNano())
	b := binary.LittleEndian.AppendUint32(nil, uint32(ns>>32))
	return option{code, binary.LittleEndian.AppendUint32(b, uint32(ns))}
}

func appendOptions(b []byte, opts []option) []byte {
	if len(opts) == 0 {
		return b
	}
	for _, o := range opts {
		v := o.val
		if len(v) > 0xffff {
			v = v[:0xffff]
		}
		b = binary.LittleEndian.AppendUint16(b, o.code)
		b = binary.LittleEndian.AppendUint16(b, uint16(len(v)))
		b = append(b, v...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
	}
	return append(b, 0, 0, 0, 0)
}

// writeBlock frames body as a block of type typ.
func (nw *ngWriter) writeBlock(typ uint32, body []byte) error {
	total := uint32(12 + len(body))
	hdr := nw.hdr[:]
	binary.LittleEndian.PutUint32(hdr[0:4], typ)
	binary.LittleEndian.PutUint32(hdr[4:8], total)
	if _, err := nw.w.Write(hdr[:]); err != nil {
		return err
	}
	if _, err := nw.w.Write(body); err != nil {
		return err
	}
	_, err := nw.w.Write(hdr[4:8])
	return err
}

type sectionInfo struct {
	Comment, Hardware, OS, UserAppl string
}

// writeSHB writes the section header. If reserve > 0 it adds a second
// comment of reserve spaces and returns the file offset of its value, so the
// caller can overwrite it (same length) once the section is written.
func (nw *ngWriter) writeSHB(si sectionInfo, reserve int) (int64, error) {
	b := nw.buf[:0]
	b = binary.LittleEndian.AppendUint32(b, byteOrderMagic)
	b = binary.LittleEndian.AppendUint16(b, 1)
	b = binary.LittleEndian.AppendUint16(b, 0)
	b = binary.LittleEndian.AppendUint64(b, ^uint64(0)) // section length unknown
	var opts []option
	var off int64
	if si.Comment != "" {
		opts = append(opts, strOpt(optComment, si.Comment))
	}
	if reserve > 0 {
		for _, o := range opts {
			off += 4 + int64((len(o.val)+3)&^3)
		}
		off += 8 + int64(len(b)) + 4
		opts = append(opts, strOpt(optComment, strings.Repeat(" ", reserve)))
	}
	if si.Hardware != "" {
		opts = append(opts, strOpt(shbHardware, si.Hardware))
	}
	if si.OS != "" {
		opts = append(opts, strOpt(shbOS, si.OS))
	}
	if si.UserAppl != "" {
		opts = append(opts, strOpt(shbUserAppl, si.UserAppl))
	}
	nw.buf = appendOptions(b, opts)
	return off, nw.writeBlock(blockSHB, nw.buf)
}

func (nw *ngWriter) writeIDB(in ifaceInfo) error {
	b := nw.buf[:0]
	b = binary.LittleEndian.AppendUint16(b, in.LinkType)
	b = binary.LittleEndian.AppendUint16(b, 0)
	b = binary.LittleEndian.AppendUint32(b, in.SnapLen)
	var opts []option
	if in.Name != "" {
		opts = append(opts, strOpt(ifName, in.Name))
	}
	if in.Description != "" {
		opts = append(opts, strOpt(ifDescription, in.Description))
	}
	opts = append(opts, option{ifTSResol, []byte{9}})
	if in.Filter != "" {
		opts = append(opts, option{ifFilter, append([]byte{0}, in.Filter...)})
	}
	if in.OS != "" {
		opts = append(opts, strOpt(ifOS, in.OS))
	}
	nw.buf = appendOptions(b, opts)
	return nw.writeBlock(blockIDB, nw.buf)
}

func (nw *ngWriter) writeEPB(iface int, ts int64, wireLen int, data []byte, comment string) error {
	b := nw.buf[:0]
	b = binary.LittleEndian.AppendUint32(b, uint32(iface))
	b = binary.LittleEndian.AppendUint32(b, uint32(uint64(ts)>>32))
	b = binary.LittleEndian.AppendUint32(b, uint32(ts))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	b = binary.LittleEndian.AppendUint32(b, uint32(wireLen))
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	if comment != "" {
		b = appendOptions(b, []option{strOpt(optComment, comment)})
	}
	nw.buf = b
	return nw.writeBlock(blockEPB, b)
}

func (nw *ngWriter) writeISB(iface int, at time.Time, opts []option) error {
	b := nw.buf[:0]
	ns := uint64(at.UnixNano())
	b = binary.LittleEndian.AppendUint32(b, uint32(iface))
	b = binary.LittleEndian.AppendUint32(b, uint32(ns>>32))
	b = binary.LittleEndian.AppendUint32(b, uint32(ns))
	nw.buf = appendOptions(b, opts)
	return nw.writeBlock(blockISB, nw.buf)
}

func (nw *ngWriter) flush() error { return nw.w.Flush() }
