package pcapng

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
)

// readBufSize is the Reader's initial buffer; it grows for larger blocks.
// Small, because a merge holds one Reader per segment open at once.
const readBufSize = 64 << 10

// Reader reads packets from a pcapng or pcap stream. Next does not allocate;
// interface and statistics blocks are kept or handed to OnStats as they
// pass. A Reader is not safe for concurrent use.
type Reader struct {
	// OnStats, if set, is called for every interface statistics block
	// Next passes; st is valid only during the call.
	OnStats func(st *Stats)

	src      io.Reader
	closers  []io.Closer
	buf      []byte
	pos, end int   // unread bytes are buf[pos:end]
	off      int64 // stream offset of buf[pos]
	srcErr   error // sticky error from src
	srcTorn  bool  // src reported an unexpected EOF (a cut gzip stream)
	format   Format
	gzipped  bool
	pcapOnly bool // Scan: refuse pcap
	general  bool // tests: read every block on Next's general path, not nextEPB

	be       bool // current section is big-endian
	sections int  // section headers seen
	section  Section
	ifaces   []Interface
	conv     []tsConv
	stats    Stats

	// pcap
	pcapNano bool
}

// Open opens the capture file at path; see NewReader. Close closes the file.
func Open(path string) (*Reader, error) {
	f, err := openFile(path)
	if err != nil {
		return nil, err
	}
	r, err := NewReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	r.closers = append(r.closers, f)
	return r, nil
}

// NewReader detects the format of src (pcapng in either byte order, pcap in
// either byte order with microsecond or nanosecond timestamps, or either of
// them gzip-compressed) and reads its file header. The error wraps ErrFormat
// for anything else (including an empty input), ErrTruncated for a header
// cut short and ErrVersion for a version it does not know.
func NewReader(src io.Reader) (*Reader, error) {
	r := &Reader{src: src, buf: make([]byte, readBufSize)}
	if err := r.start(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Reader) start() error {
	if !r.need(4) {
		if err := r.readErr(); err != nil {
			return err
		}
		if r.end == r.pos {
			return fmt.Errorf("empty file: %w", ErrFormat)
		}
		return &TruncatedError{Format: r.guessFormat()}
	}
	b := r.buf[r.pos:]
	if b[0] == 0x1f && b[1] == 0x8b && !r.pcapOnly {
		// gzip reads what is buffered, then the rest of the source.
		if err := r.readErr(); err != nil {
			return err
		}
		var src io.Reader = bytes.NewReader(bytes.Clone(r.buf[r.pos:r.end]))
		if r.srcErr == nil {
			src = io.MultiReader(src, r.src)
		}
		zr, err := gzip.NewReader(src)
		if err != nil {
			return fmt.Errorf("gzip: %w", err)
		}
		r.closers = append(r.closers, zr)
		r.src, r.gzipped = zr, true
		r.pos, r.end, r.off, r.srcErr = 0, 0, 0, nil
		return r.start()
	}
	switch binary.LittleEndian.Uint32(b) {
	case blockSHB:
		r.format = FormatPcapng
		if !r.need(12) {
			return r.torn()
		}
		return r.readSHB()
	case pcapMagicUS, pcapMagicNS, pcapMagicUSSwp, pcapMagicNSSwp:
		if r.pcapOnly {
			return fmt.Errorf("pcap, not pcapng: %w", ErrFormat)
		}
		r.format = FormatPcap
		return r.readPcapHeader()
	}
	return fmt.Errorf("%w (magic % x)", ErrFormat, b[:4])
}

// guessFormat names the format for an error about a header cut short.
func (r *Reader) guessFormat() Format {
	if r.end > r.pos && r.buf[r.pos] == 0x0a {
		return FormatPcapng
	}
	return FormatPcap
}

// Close closes what Open opened and the gzip stream, if any. It does not
// close a reader given to NewReader.
func (r *Reader) Close() error {
	var errs []error
	for i := len(r.closers) - 1; i >= 0; i-- {
		errs = append(errs, r.closers[i].Close())
	}
	r.closers = nil
	return errors.Join(errs...)
}

// Format is the format being read.
func (r *Reader) Format() Format { return r.format }

// Compressed reports whether the input is gzip-compressed.
func (r *Reader) Compressed() bool { return r.gzipped }

// Offset is the number of (uncompressed) bytes of complete blocks or records
// read so far. After Next returns an error it is the valid prefix's length.
func (r *Reader) Offset() int64 { return r.off }

// Section is the current section header (the zero Section for pcap).
func (r *Reader) Section() Section { return r.section }

// Interfaces are the interfaces of the current section declared so far,
// indexed by interface id (for pcap, the one the file header describes).
// The slice is the Reader's; it changes as Next reads on.
func (r *Reader) Interfaces() []Interface { return r.ifaces }

// need makes n unread bytes available in buf[pos:end], reading as needed,
// and reports whether it could.
func (r *Reader) need(n int) bool {
	zero := 0
	for r.end-r.pos < n {
		if r.srcErr != nil {
			return false
		}
		if len(r.buf)-r.pos < n || r.end == len(r.buf) {
			if r.pos > 0 {
				r.end = copy(r.buf, r.buf[r.pos:r.end])
				r.pos = 0
			}
			if r.end == len(r.buf) { // full and still short: grow
				nb := make([]byte, min(2*len(r.buf), max(n, len(r.buf)+1)+readBufSize))
				copy(nb, r.buf[:r.end])
				r.buf = nb
			}
		}
		m, err := r.src.Read(r.buf[r.end:])
		r.end += m
		if err != nil {
			r.srcErr = err
			if errors.Is(err, io.ErrUnexpectedEOF) {
				r.srcTorn = true
			}
		} else if m == 0 {
			if zero++; zero > 100 {
				r.srcErr = io.ErrNoProgress
			}
		}
	}
	return true
}

// readErr is the source's error, unless it is the end of the input.
func (r *Reader) readErr() error {
	if r.srcErr == nil || r.srcErr == io.EOF || r.srcTorn {
		return nil
	}
	return fmt.Errorf("%v: read at offset %d: %w", r.format, r.off, r.srcErr)
}

// endErr is what Next returns when the input ends before the next block.
func (r *Reader) endErr() error {
	if err := r.readErr(); err != nil {
		return err
	}
	if r.end > r.pos || r.srcTorn {
		return r.torn()
	}
	return io.EOF
}

func (r *Reader) torn() error {
	if err := r.readErr(); err != nil {
		return err
	}
	return &TruncatedError{Format: r.format, Valid: r.off}
}

func (r *Reader) invalid(what, reason string) error {
	return &InvalidError{Format: r.format, Offset: r.off, What: what, Reason: reason, Err: ErrInvalid}
}

func (r *Reader) consume(n int) {
	r.pos += n
	r.off += int64(n)
}

func (r *Reader) u16(b []byte) uint16 {
	if r.be {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (r *Reader) u32(b []byte) uint32 {
	if r.be {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func (r *Reader) u64(b []byte) uint64 {
	if r.be {
		return binary.BigEndian.Uint64(b)
	}
	return binary.LittleEndian.Uint64(b)
}

// Next reads the next packet into p, passing over other blocks. It returns
// io.EOF at a clean end of the input, a *TruncatedError (ErrTruncated) when
// it ends inside a block, an *InvalidError (ErrInvalid, ErrVersion) for a
// malformed block, or a read error. After an error Next returns it again.
func (r *Reader) Next(p *Packet) error {
	if r.format == FormatPcap {
		return r.nextPcap(p)
	}
	if !r.be && !r.general && r.end-r.pos >= 32 && r.nextEPB(p) {
		return nil
	}
	for {
		if !r.need(8) {
			return r.endErr()
		}
		b := r.buf[r.pos:r.end]
		if binary.LittleEndian.Uint32(b) == blockSHB {
			if !r.need(12) {
				return r.torn()
			}
			if err := r.readSHB(); err != nil {
				return err
			}
			continue
		}
		typ := r.u32(b)
		n := r.u32(b[4:])
		if n < 12 || n%4 != 0 || n > MaxBlockLen {
			return r.invalid(blockName(typ), fmt.Sprintf("block length %d", n))
		}
		if !r.need(int(n)) {
			return r.torn()
		}
		b = r.buf[r.pos : r.pos+int(n)]
		if r.u32(b[n-4:]) != n {
			return r.invalid(blockName(typ), fmt.Sprintf("trailing length %d, leading %d", r.u32(b[n-4:]), n))
		}
		body := b[8 : n-4]
		var err error
		switch typ {
		case blockEPB:
			if err = r.epb(p, body); err == nil {
				r.consume(int(n))
				return nil
			}
		case blockIDB:
			err = r.idb(body)
		case blockSPB:
			if err = r.spb(p, body); err == nil {
				r.consume(int(n))
				return nil
			}
		case blockOPB:
			if err = r.opb(p, body); err == nil {
				r.consume(int(n))
				return nil
			}
		case blockISB:
			err = r.isb(body)
		}
		if err != nil {
			return err
		}
		r.consume(int(n))
	}
}

// nextEPB reads the block at buf[pos:] if it is the one nearly every
// capture is made of: a little-endian enhanced packet block, wholly
// buffered, of a declared interface, without options. It reads it as Next
// does, with the checks Next makes, in one place; anything else (another
// block, an option, something wrong) is left to Next's general path, which
// also says what is wrong. It reports whether it read a packet.
func (r *Reader) nextEPB(p *Packet) bool {
	b := r.buf[r.pos:r.end]
	n := binary.LittleEndian.Uint32(b[4:])
	if binary.LittleEndian.Uint32(b) != blockEPB || n < 32 || n%4 != 0 || n > MaxBlockLen || uint64(n) > uint64(len(b)) {
		return false
	}
	id := binary.LittleEndian.Uint32(b[8:])
	capLen := binary.LittleEndian.Uint32(b[20:])
	// capLen <= n-32 keeps the padded length below 2^32.
	if capLen > n-32 || (capLen+3)&^3 != n-32 || binary.LittleEndian.Uint32(b[n-4:]) != n || uint64(id) >= uint64(len(r.ifaces)) {
		return false
	}
	p.Timestamp = r.conv[id].ns(uint64(binary.LittleEndian.Uint32(b[12:]))<<32 | uint64(binary.LittleEndian.Uint32(b[16:])))
	p.Interface = int(id)
	p.Section = r.sections - 1
	p.LinkType = r.ifaces[id].LinkType
	p.Length = int(binary.LittleEndian.Uint32(b[24:]))
	p.Data = b[28 : 28+capLen]
	p.Comment = nil
	p.Kind = KindEnhanced
	r.consume(int(n))
	return true
}

// readSHB reads the section header at buf[pos:] (12 bytes available).
func (r *Reader) readSHB() error {
	b := r.buf[r.pos:r.end]
	switch {
	case binary.LittleEndian.Uint32(b[8:]) == byteOrderMagic:
		r.be = false
	case binary.BigEndian.Uint32(b[8:]) == byteOrderMagic:
		r.be = true
	default:
		return r.invalid("section header", fmt.Sprintf("byte-order magic % x", b[8:12]))
	}
	n := r.u32(b[4:])
	if n < 28 || n%4 != 0 || n > MaxBlockLen {
		return r.invalid("section header", fmt.Sprintf("block length %d", n))
	}
	if !r.need(int(n)) {
		return r.torn()
	}
	b = r.buf[r.pos : r.pos+int(n)]
	if r.u32(b[n-4:]) != n {
		return r.invalid("section header", fmt.Sprintf("trailing length %d, leading %d", r.u32(b[n-4:]), n))
	}
	s := Section{Major: r.u16(b[12:]), Minor: r.u16(b[14:])}
	// Versions 1.0 and 1.2 (which some writers wrote for 1.0), as
	// Wireshark reads.
	if s.Major != 1 || (s.Minor != 0 && s.Minor != 2) {
		return &InvalidError{Format: r.format, Offset: r.off, What: "section header",
			Reason: fmt.Sprintf("version %d.%d (this reader knows 1.0 and 1.2)", s.Major, s.Minor), Err: ErrVersion}
	}
	for code, v, rest, ok := r.option(b[24 : n-4]); ok; code, v, rest, ok = r.option(rest) {
		switch code {
		case optComment:
			if s.Comment == "" {
				s.Comment = string(v)
			}
		case shbHardware:
			s.Hardware = string(v)
		case shbOS:
			s.OS = string(v)
		case shbUserAppl:
			s.UserAppl = string(v)
		}
	}
	r.section = s
	if r.sections > 0 || len(r.ifaces) > 0 {
		r.ifaces, r.conv = r.ifaces[:0], r.conv[:0]
	}
	r.sections++
	r.consume(int(n))
	return nil
}

// option returns the first option in b and the options after it; ok is
// false at opt_endofopt, at the end of b, or at an option that overruns b
// (options are read leniently: a bad option ends the list, it does not
// invalidate the block).
func (r *Reader) option(b []byte) (code uint16, val, rest []byte, ok bool) {
	if len(b) < 4 {
		return 0, nil, nil, false
	}
	code, l := r.u16(b), int(r.u16(b[2:]))
	if code == optEnd || 4+l > len(b) {
		return 0, nil, nil, false
	}
	return code, b[4 : 4+l], b[min(len(b), 4+(l+3)&^3):], true
}

func (r *Reader) idb(body []byte) error {
	if len(body) < 8 {
		return r.invalid("interface description block", "shorter than its fixed fields")
	}
	if len(r.ifaces) >= 1<<16 {
		return r.invalid("interface description block", "more than 65536 interfaces in a section")
	}
	ifc := Interface{LinkType: r.u16(body), SnapLen: r.u32(body[4:]), TSResol: 6}
	for code, v, rest, ok := r.option(body[8:]); ok; code, v, rest, ok = r.option(rest) {
		switch code {
		case optComment:
			if ifc.Comment == "" {
				ifc.Comment = string(v)
			}
		case ifName:
			ifc.Name = string(v)
		case ifDescription:
			ifc.Description = string(v)
		case ifFilter:
			if len(v) > 0 && v[0] == 0 {
				ifc.Filter = string(v[1:])
			}
		case ifOS:
			ifc.OS = string(v)
		case ifTSResol:
			if len(v) >= 1 {
				ifc.TSResol = v[0]
			}
		case ifTSOffset:
			if len(v) >= 8 {
				ifc.TSOffset = int64(r.u64(v))
			}
		}
	}
	r.ifaces = append(r.ifaces, ifc)
	r.conv = append(r.conv, newTSConv(ifc.TSResol, ifc.TSOffset))
	return nil
}

func (r *Reader) ts(b []byte) uint64 { return uint64(r.u32(b))<<32 | uint64(r.u32(b[4:])) }

func (r *Reader) epb(p *Packet, body []byte) error {
	if len(body) < 20 {
		return r.invalid("enhanced packet block", "shorter than its fixed fields")
	}
	return r.packet(p, KindEnhanced, "enhanced packet block", r.u32(body), body)
}

func (r *Reader) opb(p *Packet, body []byte) error {
	if len(body) < 20 {
		return r.invalid("packet block", "shorter than its fixed fields")
	}
	return r.packet(p, KindObsolete, "packet block", uint32(r.u16(body)), body)
}

// packet decodes the layout shared by the enhanced and the obsolete packet
// block: id, timestamp, captured length, original length, data, options.
func (r *Reader) packet(p *Packet, kind PacketKind, what string, id uint32, body []byte) error {
	if uint64(id) >= uint64(len(r.ifaces)) {
		return r.invalid(what, fmt.Sprintf("interface %d not declared (%d in the section)", id, len(r.ifaces)))
	}
	capLen := r.u32(body[12:])
	if uint64(capLen) > uint64(len(body)-20) {
		return r.invalid(what, fmt.Sprintf("captured length %d overruns the block", capLen))
	}
	p.Timestamp = r.conv[id].ns(r.ts(body[4:]))
	p.Interface = int(id)
	p.Section = r.sections - 1
	p.LinkType = r.ifaces[id].LinkType
	p.Length = int(r.u32(body[16:]))
	p.Data = body[20 : 20+capLen]
	p.Comment = nil
	p.Kind = kind
	if opts := body[20+(capLen+3)&^3:]; len(opts) >= 4 {
		for code, v, rest, ok := r.option(opts); ok; code, v, rest, ok = r.option(rest) {
			if code == optComment {
				p.Comment = v
				break
			}
		}
	}
	return nil
}

func (r *Reader) spb(p *Packet, body []byte) error {
	if len(body) < 4 {
		return r.invalid("simple packet block", "shorter than its fixed fields")
	}
	if len(r.ifaces) == 0 {
		return r.invalid("simple packet block", "no interface declared")
	}
	orig := r.u32(body)
	data := body[4:]
	if uint64(orig) < uint64(len(data)) {
		data = data[:orig] // the rest is padding
	}
	if s := r.ifaces[0].SnapLen; s != 0 && uint64(len(data)) > uint64(s) {
		data = data[:s]
	}
	*p = Packet{Section: r.sections - 1, LinkType: r.ifaces[0].LinkType, Length: int(orig), Data: data, Kind: KindSimple}
	return nil
}

func (r *Reader) isb(body []byte) error {
	if len(body) < 12 {
		return r.invalid("interface statistics block", "shorter than its fixed fields")
	}
	id := r.u32(body)
	if uint64(id) >= uint64(len(r.ifaces)) {
		return r.invalid("interface statistics block", fmt.Sprintf("interface %d not declared (%d in the section)", id, len(r.ifaces)))
	}
	if r.OnStats == nil {
		return nil
	}
	r.stats = Stats{Interface: int(id)}
	r.parseStats(&r.stats, r.conv[id], body)
	r.OnStats(&r.stats)
	return nil
}

// parseStats decodes an interface statistics block's body (after the
// block type and length) into st.
func (r *Reader) parseStats(st *Stats, c tsConv, body []byte) {
	st.Timestamp = c.ns(r.ts(body[4:]))
	for code, v, rest, ok := r.option(body[12:]); ok; code, v, rest, ok = r.option(rest) {
		if code == optComment {
			if st.Comment == "" {
				st.Comment = string(v)
			}
			continue
		}
		if len(v) < 8 {
			continue
		}
		switch code {
		case isbStartTime:
			st.StartTime, st.Has = c.ns(r.ts(v)), st.Has|HasStartTime
		case isbEndTime:
			st.EndTime, st.Has = c.ns(r.ts(v)), st.Has|HasEndTime
		case isbIfRecv:
			st.Received, st.Has = r.u64(v), st.Has|HasReceived
		case isbIfDrop:
			st.Dropped, st.Has = r.u64(v), st.Has|HasDropped
		case isbFilterAccept:
			st.FilterAccepted, st.Has = r.u64(v), st.Has|HasFilterAccepted
		case isbOSDrop:
			st.OSDropped, st.Has = r.u64(v), st.Has|HasOSDropped
		case isbUsrDeliv:
			st.Delivered, st.Has = r.u64(v), st.Has|HasDelivered
		}
	}
}

// readPcapHeader reads the 24-byte pcap file header.
func (r *Reader) readPcapHeader() error {
	if !r.need(24) {
		return r.torn()
	}
	b := r.buf[r.pos:]
	switch binary.LittleEndian.Uint32(b) {
	case pcapMagicUS:
	case pcapMagicNS:
		r.pcapNano = true
	case pcapMagicUSSwp:
		r.be = true
	case pcapMagicNSSwp:
		r.be, r.pcapNano = true, true
	}
	major, minor := r.u16(b[4:]), r.u16(b[6:])
	// Versions 2.0 to 2.4, as libpcap reads.
	if major != 2 || minor > 4 {
		return &InvalidError{Format: FormatPcap, What: "file header",
			Reason: fmt.Sprintf("version %d.%d (this reader knows 2.0 to 2.4)", major, minor), Err: ErrVersion}
	}
	ifc := Interface{LinkType: uint16(r.u32(b[20:])), SnapLen: r.u32(b[16:]), TSResol: 6}
	if r.pcapNano {
		ifc.TSResol = 9
	}
	r.ifaces = append(r.ifaces, ifc)
	r.consume(24)
	return nil
}

func (r *Reader) nextPcap(p *Packet) error {
	if !r.need(16) {
		return r.endErr()
	}
	b := r.buf[r.pos:]
	incl := r.u32(b[8:])
	if incl > MaxBlockLen-16 {
		return r.invalid("pcap record", fmt.Sprintf("captured length %d", incl))
	}
	n := 16 + int(incl)
	if !r.need(n) {
		return r.torn()
	}
	b = r.buf[r.pos : r.pos+n]
	frac := int64(r.u32(b[4:]))
	if !r.pcapNano {
		frac *= 1000
	}
	*p = Packet{
		Timestamp: int64(r.u32(b))*1e9 + frac,
		LinkType:  r.ifaces[0].LinkType,
		Length:    int(r.u32(b[12:])),
		Data:      b[16:n],
		Kind:      KindPcap,
	}
	r.consume(n)
	return nil
}

// tsConv converts an interface's timestamps to Unix nanoseconds, exactly
// (rounding down where the unit is finer than a nanosecond).
type tsConv struct {
	mul   uint64 // decimal, coarser than ns: ts * mul
	div   uint64 // decimal, finer than ns: ts / div (0: always 0)
	shift uint8  // binary: ts * 1e9 >> shift
	kind  uint8
	off   int64 // if_tsoffset in ns
}

const (
	convMul = iota
	convDiv
	convBin
)

var pow10 = [...]uint64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19}

func newTSConv(resol uint8, offset int64) tsConv {
	c := tsConv{off: offset * 1e9}
	exp := resol & 0x7f
	switch {
	case resol&0x80 != 0:
		c.kind, c.shift = convBin, exp
	case exp <= 9:
		c.kind, c.mul = convMul, pow10[9-exp]
	case exp-9 < uint8(len(pow10)):
		c.kind, c.div = convDiv, pow10[exp-9]
	default:
		c.kind = convDiv // div 0: every timestamp is below a nanosecond
	}
	return c
}

func (c *tsConv) ns(ts uint64) int64 {
	switch c.kind {
	case convMul:
		return int64(ts*c.mul) + c.off
	case convDiv:
		if c.div == 0 {
			return c.off
		}
		return int64(ts/c.div) + c.off
	}
	e := uint(c.shift)
	if e < 64 {
		whole := ts >> e
		hi, lo := bits.Mul64(ts&(1<<e-1), 1e9)
		frac := lo >> e
		if e > 0 {
			frac |= hi << (64 - e)
		}
		return int64(whole*1e9+frac) + c.off
	}
	hi, _ := bits.Mul64(ts, 1e9)
	return int64(hi>>(e-64)) + c.off
}
