package pcapng

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The Append functions encode one block each, little-endian, appending it
// to b; they do not allocate beyond growing b. Timestamps are Unix
// nanoseconds: every interface is described with if_tsresol 9. Options are
// written in the order pcapgo writes them, so files match byte for byte.

var le = binary.LittleEndian

// optLen is the encoded size of an option with a value of n bytes.
func optLen(n int) int { return 4 + (n+3)&^3 }

func strOptLen(s string) int {
	if s == "" {
		return 0
	}
	return optLen(min(len(s), 0xffff))
}

// appendStrOpt appends a string option (cut to 65535 bytes); nothing for "".
func appendStrOpt(b []byte, code uint16, s string) []byte {
	if s == "" {
		return b
	}
	s = s[:min(len(s), 0xffff)]
	b = le.AppendUint16(b, code)
	b = le.AppendUint16(b, uint16(len(s)))
	b = append(b, s...)
	return append(b, "\x00\x00\x00"[:(4-len(s)&3)&3]...)
}

func appendU64Opt(b []byte, code uint16, v uint64) []byte {
	b = le.AppendUint16(b, code)
	b = le.AppendUint16(b, 8)
	return le.AppendUint64(b, v)
}

func appendTSOpt(b []byte, code uint16, ns int64) []byte {
	b = le.AppendUint16(b, code)
	b = le.AppendUint16(b, 8)
	return appendTS(b, ns)
}

func appendTS(b []byte, ns int64) []byte {
	b = le.AppendUint32(b, uint32(uint64(ns)>>32))
	return le.AppendUint32(b, uint32(ns))
}

func (s Section) optsLen() int {
	n := strOptLen(s.UserAppl) + strOptLen(s.Comment) + strOptLen(s.Hardware) + strOptLen(s.OS)
	if s.Reserve > 0 {
		n += optLen(min(s.Reserve, 0xffff))
	}
	if n > 0 {
		n += 4
	}
	return n
}

// SectionLen is the encoded size of s's section header block.
func (s Section) SectionLen() int { return 28 + s.optsLen() }

// ReservedOffset is where the value of the reserved comment (see
// Section.Reserve) starts, counted from the start of the section header
// block; -1 without one.
func (s Section) ReservedOffset() int {
	if s.Reserve <= 0 {
		return -1
	}
	return 24 + strOptLen(s.UserAppl) + strOptLen(s.Comment) + 4
}

// AppendSection appends a section header block (version 1.0, section
// length unspecified) with s's options.
func AppendSection(b []byte, s Section) []byte {
	n := s.SectionLen()
	b = le.AppendUint32(b, blockSHB)
	b = le.AppendUint32(b, uint32(n))
	b = le.AppendUint32(b, byteOrderMagic)
	b = le.AppendUint16(b, 1)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint64(b, ^uint64(0))
	if s.optsLen() > 0 {
		b = appendStrOpt(b, shbUserAppl, s.UserAppl)
		b = appendStrOpt(b, optComment, s.Comment)
		if s.Reserve > 0 {
			r := min(s.Reserve, 0xffff)
			b = le.AppendUint16(b, optComment)
			b = le.AppendUint16(b, uint16(r))
			for range r {
				b = append(b, ' ')
			}
			b = append(b, "\x00\x00\x00"[:(4-r&3)&3]...)
		}
		b = appendStrOpt(b, shbHardware, s.Hardware)
		b = appendStrOpt(b, shbOS, s.OS)
		b = le.AppendUint32(b, 0)
	}
	return le.AppendUint32(b, uint32(n))
}

// InterfaceLen is the encoded size of ifc's interface description block.
func (ifc Interface) InterfaceLen() int {
	n := 20 + strOptLen(ifc.Name) + strOptLen(ifc.Comment) + strOptLen(ifc.Description) + strOptLen(ifc.OS) + optLen(1) + 4
	if ifc.Filter != "" {
		n += optLen(min(len(ifc.Filter)+1, 0xffff))
	}
	return n
}

// AppendInterface appends an interface description block for ifc with
// if_tsresol 9 (nanoseconds); TSResol and TSOffset are not written.
func AppendInterface(b []byte, ifc Interface) []byte {
	n := ifc.InterfaceLen()
	b = le.AppendUint32(b, blockIDB)
	b = le.AppendUint32(b, uint32(n))
	b = le.AppendUint16(b, ifc.LinkType)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint32(b, ifc.SnapLen)
	b = appendStrOpt(b, ifName, ifc.Name)
	b = appendStrOpt(b, optComment, ifc.Comment)
	b = appendStrOpt(b, ifDescription, ifc.Description)
	if ifc.Filter != "" {
		f := ifc.Filter[:min(len(ifc.Filter), 0xfffe)]
		b = le.AppendUint16(b, ifFilter)
		b = le.AppendUint16(b, uint16(len(f)+1))
		b = append(b, 0) // libpcap filter string
		b = append(b, f...)
		b = append(b, "\x00\x00\x00"[:(4-(len(f)+1)&3)&3]...)
	}
	b = appendStrOpt(b, ifOS, ifc.OS)
	b = append(b, ifTSResol, 0, 1, 0, 9, 0, 0, 0) // little-endian code 9, length 1, value 9
	b = le.AppendUint32(b, 0)
	return le.AppendUint32(b, uint32(n))
}

// PacketLen is the encoded size of an enhanced packet block holding capLen
// bytes and the given comment.
func PacketLen(capLen int, comment string) int {
	n := 32 + (capLen+3)&^3
	if comment != "" {
		n += strOptLen(comment) + 4
	}
	return n
}

// AppendPacket appends an enhanced packet block: data captured at ts (Unix
// nanoseconds) on interface iface, wireLen bytes long on the wire (at least
// len(data)), with an opt_comment unless comment is "". The caller keeps
// len(data) within MaxBlockLen.
func AppendPacket(b []byte, iface int, ts int64, wireLen int, data []byte, comment string) []byte {
	capLen := len(data)
	wireLen = max(wireLen, capLen)
	n := PacketLen(capLen, comment)
	b = le.AppendUint32(b, blockEPB)
	b = le.AppendUint32(b, uint32(n))
	b = le.AppendUint32(b, uint32(iface))
	b = appendTS(b, ts)
	b = le.AppendUint32(b, uint32(capLen))
	b = le.AppendUint32(b, uint32(wireLen))
	b = append(b, data...)
	b = append(b, "\x00\x00\x00"[:(4-capLen&3)&3]...)
	if comment != "" {
		b = appendStrOpt(b, optComment, comment)
		b = le.AppendUint32(b, 0)
	}
	return le.AppendUint32(b, uint32(n))
}

// StatsLen is the encoded size of st's interface statistics block.
func (st Stats) StatsLen() int {
	n := 24
	for _, f := range [...]StatsField{HasStartTime, HasEndTime, HasReceived, HasDropped, HasFilterAccepted, HasOSDropped, HasDelivered} {
		if st.Has&f != 0 {
			n += 12
		}
	}
	n += strOptLen(st.Comment)
	if n > 24 {
		n += 4
	}
	return n
}

// AppendStats appends an interface statistics block with the fields of st
// named in st.Has and its comment.
func AppendStats(b []byte, st Stats) []byte {
	n := st.StatsLen()
	b = le.AppendUint32(b, blockISB)
	b = le.AppendUint32(b, uint32(n))
	b = le.AppendUint32(b, uint32(st.Interface))
	b = appendTS(b, st.Timestamp)
	if st.Has&HasStartTime != 0 {
		b = appendTSOpt(b, isbStartTime, st.StartTime)
	}
	if st.Has&HasEndTime != 0 {
		b = appendTSOpt(b, isbEndTime, st.EndTime)
	}
	if st.Has&HasDropped != 0 {
		b = appendU64Opt(b, isbIfDrop, st.Dropped)
	}
	if st.Has&HasReceived != 0 {
		b = appendU64Opt(b, isbIfRecv, st.Received)
	}
	if st.Has&HasFilterAccepted != 0 {
		b = appendU64Opt(b, isbFilterAccept, st.FilterAccepted)
	}
	if st.Has&HasOSDropped != 0 {
		b = appendU64Opt(b, isbOSDrop, st.OSDropped)
	}
	if st.Has&HasDelivered != 0 {
		b = appendU64Opt(b, isbUsrDeliv, st.Delivered)
	}
	b = appendStrOpt(b, optComment, st.Comment)
	if n > 24 {
		b = le.AppendUint32(b, 0)
	}
	return le.AppendUint32(b, uint32(n))
}

// writeBufSize is the Writer's buffer.
const writeBufSize = 256 << 10

// Writer writes a pcapng stream through a buffer. It hands whole blocks to
// the underlying writer, so a file written through it grows block by
// block. Writing a packet does not allocate. A write error is sticky.
type Writer struct {
	w      io.Writer
	buf    []byte
	n      int64 // bytes written, buffered ones included
	ifaces int   // interfaces declared in the current section
	err    error
}

// NewWriter returns a Writer to w. Start with WriteSection.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: w, buf: make([]byte, 0, writeBufSize)}
}

// Written is the number of bytes written so far, buffered ones included:
// the offset the next block starts at.
func (w *Writer) Written() int64 { return w.n }

// errNoSection is returned for a block before the first section header.
var errNoSection = errors.New("pcapng: write: no section header written")

// room makes room for a block of n bytes in the buffer.
func (w *Writer) room(n int) error {
	if w.err != nil {
		return w.err
	}
	if n > MaxBlockLen {
		return fmt.Errorf("pcapng: write: block of %d bytes exceeds the limit of %d", n, MaxBlockLen)
	}
	if len(w.buf)+n > cap(w.buf) && len(w.buf) > 0 {
		return w.Flush()
	}
	return nil
}

func (w *Writer) added(before int) { w.n += int64(len(w.buf) - before) }

// WriteSection starts a section: a section header block with s's options.
// Interfaces must be declared again after it.
func (w *Writer) WriteSection(s Section) error {
	if err := w.room(s.SectionLen()); err != nil {
		return err
	}
	l := len(w.buf)
	w.buf = AppendSection(w.buf, s)
	w.added(l)
	w.ifaces = 0
	return nil
}

// WriteInterface declares an interface in the current section and returns
// its id.
func (w *Writer) WriteInterface(ifc Interface) (int, error) {
	if w.n == 0 {
		return 0, errNoSection
	}
	if err := w.room(ifc.InterfaceLen()); err != nil {
		return 0, err
	}
	l := len(w.buf)
	w.buf = AppendInterface(w.buf, ifc)
	w.added(l)
	w.ifaces++
	return w.ifaces - 1, nil
}

// WritePacket writes an enhanced packet block (see AppendPacket) on a
// declared interface.
func (w *Writer) WritePacket(iface int, ts int64, wireLen int, data []byte, comment string) error {
	if uint(iface) >= uint(w.ifaces) {
		return fmt.Errorf("pcapng: write packet: interface %d not declared (%d in the section)", iface, w.ifaces)
	}
	if err := w.room(PacketLen(len(data), comment)); err != nil {
		return err
	}
	l := len(w.buf)
	w.buf = AppendPacket(w.buf, iface, ts, wireLen, data, comment)
	w.added(l)
	return nil
}

// WriteStats writes an interface statistics block for a declared interface.
func (w *Writer) WriteStats(st Stats) error {
	if uint(st.Interface) >= uint(w.ifaces) {
		return fmt.Errorf("pcapng: write statistics: interface %d not declared (%d in the section)", st.Interface, w.ifaces)
	}
	if err := w.room(st.StatsLen()); err != nil {
		return err
	}
	l := len(w.buf)
	w.buf = AppendStats(w.buf, st)
	w.added(l)
	return nil
}

// Flush writes the buffered blocks to the underlying writer.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	if len(w.buf) == 0 {
		return nil
	}
	_, err := w.w.Write(w.buf)
	w.buf = w.buf[:0]
	if err != nil {
		w.err = fmt.Errorf("pcapng: write: %w", err)
	}
	return w.err
}
