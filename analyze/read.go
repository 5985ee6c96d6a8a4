package analyze

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
)

// Record is one captured frame as read from a file. Data is only valid until
// the next call to Next.
type Record struct {
	Time    int64 // Unix nanoseconds
	WireLen int
	Link    int // LINKTYPE_* of the interface the frame was captured on
	Iface   int // pcapng interface index within its section (0 for pcap)
	Data    []byte
}

// ErrFormat means the input is neither pcap nor pcapng.
var ErrFormat = errors.New("not a pcap or pcapng file")

// maxBlock bounds one pcap record or pcapng block; larger lengths mean a
// corrupt file, not a huge packet.
const maxBlock = 16 << 20

// PacketReader reads pcap or pcapng records from a stream without allocating
// per packet. A file cut short (a ring segment still being written, a
// crash) is read as far as it goes: Next returns io.EOF and Truncated
// reports true.
type PacketReader struct {
	r         *bufio.Reader
	format    string
	truncated bool
	scratch   []byte
	read      int64 // bytes consumed

	// pcap
	pcapOrder binary.ByteOrder
	pcapNano  bool
	pcapLink  int

	// pcapng
	order  binary.ByteOrder
	ifaces []ngIface
	lastTS int64
}

type ngIface struct {
	link    int
	snaplen uint32
	// if_tsresol: units are 10^-exp seconds, or 2^-exp when pow2
	exp    int
	pow2   bool
	offset int64 // if_tsoffset in ns
}

// NewPacketReader detects the format of r and returns a reader for it.
func NewPacketReader(r io.Reader) (*PacketReader, error) {
	pr := &PacketReader{r: bufio.NewReaderSize(r, 1<<20)}
	magic, err := pr.r.Peek(4)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: file is empty or shorter than a header", ErrFormat)
		}
		return nil, err
	}
	switch {
	case binary.LittleEndian.Uint32(magic) == 0x0a0d0d0a:
		pr.format = "pcapng"
		return pr, nil
	default:
		if err := pr.readPcapHeader(); err != nil {
			return nil, err
		}
		pr.format = "pcap"
		return pr, nil
	}
}

// Format is "pcap" or "pcapng".
func (pr *PacketReader) Format() string { return pr.format }

// Truncated reports whether the input ended in the middle of a record.
func (pr *PacketReader) Truncated() bool { return pr.truncated }

// Offset is the number of bytes consumed so far.
func (pr *PacketReader) Offset() int64 { return pr.read }

func (pr *PacketReader) readPcapHeader() error {
	h, err := pr.r.Peek(24)
	if err != nil {
		return fmt.Errorf("%w: short header", ErrFormat)
	}
	switch binary.LittleEndian.Uint32(h) {
	case 0xa1b2c3d4:
		pr.pcapOrder = binary.LittleEndian
	case 0xa1b23c4d:
		pr.pcapOrder, pr.pcapNano = binary.LittleEndian, true
	case 0xd4c3b2a1:
		pr.pcapOrder = binary.BigEndian
	case 0x4d3cb2a1:
		pr.pcapOrder, pr.pcapNano = binary.BigEndian, true
	default:
		return ErrFormat
	}
	pr.pcapLink = int(pr.pcapOrder.Uint32(h[20:24]) & 0x0fffffff)
	pr.discard(24)
	return nil
}

func (pr *PacketReader) discard(n int) {
	d, _ := pr.r.Discard(n)
	pr.read += int64(d)
}

// peek returns the next n bytes without copying when they fit in the buffer,
// else copies into a reusable scratch buffer. The bytes are consumed.
func (pr *PacketReader) take(n int) ([]byte, error) {
	if n <= pr.r.Size() {
		b, err := pr.r.Peek(n)
		if err != nil {
			return nil, err
		}
		pr.discard(n)
		return b, nil
	}
	if cap(pr.scratch) < n {
		pr.scratch = make([]byte, n)
	}
	b := pr.scratch[:n]
	m, err := io.ReadFull(pr.r, b)
	pr.read += int64(m)
	return b, err
}

func (pr *PacketReader) eof(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return io.EOF
	}
	return err
}

// Next reads the next packet record into rec. It returns io.EOF at the end of
// the input (check Truncated) and a wrapped error for corrupt framing.
func (pr *PacketReader) Next(rec *Record) error {
	if pr.format == "pcap" {
		return pr.nextPcap(rec)
	}
	return pr.nextNg(rec)
}

func (pr *PacketReader) nextPcap(rec *Record) error {
	h, err := pr.r.Peek(16)
	if err != nil {
		if len(h) > 0 {
			pr.truncated = true
		}
		return pr.eof(err)
	}
	sec := int64(pr.pcapOrder.Uint32(h[0:4]))
	frac := int64(pr.pcapOrder.Uint32(h[4:8]))
	incl := pr.pcapOrder.Uint32(h[8:12])
	orig := pr.pcapOrder.Uint32(h[12:16])
	if incl > maxBlock {
		pr.truncated = true
		return fmt.Errorf("pcap record at offset %d: captured length %d is implausible", pr.read, incl)
	}
	pr.discard(16)
	data, err := pr.take(int(incl))
	if err != nil {
		pr.truncated = true
		return pr.eof(err)
	}
	if !pr.pcapNano {
		frac *= 1000
	}
	*rec = Record{Time: sec*1e9 + frac, WireLen: int(orig), Link: pr.pcapLink, Data: data}
	return nil
}

func (pr *PacketReader) nextNg(rec *Record) error {
	for {
		h, err := pr.r.Peek(12)
		if err != nil {
			if len(h) > 0 {
				pr.truncated = true
			}
			return pr.eof(err)
		}
		typ := binary.LittleEndian.Uint32(h[0:4])
		if typ == 0x0a0d0d0a {
			// Section header: byte order comes from the magic after the length.
			switch binary.LittleEndian.Uint32(h[8:12]) {
			case 0x1a2b3c4d:
				pr.order = binary.LittleEndian
			case 0x4d3c2b1a:
				pr.order = binary.BigEndian
			default:
				pr.truncated = true
				return fmt.Errorf("pcapng section header at offset %d: bad byte-order magic", pr.read)
			}
			pr.ifaces = pr.ifaces[:0]
		} else if pr.order == nil {
			return fmt.Errorf("pcapng: block at offset %d before any section header", pr.read)
		} else {
			typ = pr.order.Uint32(h[0:4])
		}
		blen := pr.order.Uint32(h[4:8])
		if blen < 12 || blen%4 != 0 || blen > maxBlock {
			pr.truncated = true
			return fmt.Errorf("pcapng block at offset %d: length %d is invalid", pr.read, blen)
		}
		start := pr.read
		b, err := pr.take(int(blen))
		if err != nil {
			pr.truncated = true
			return pr.eof(err)
		}
		if pr.order.Uint32(b[blen-4:]) != blen {
			pr.truncated = true
			return fmt.Errorf("pcapng block at offset %d: trailing length does not match", start)
		}
		body := b[8 : blen-4]
		switch typ {
		case 1: // interface description
			pr.addIface(body)
		case 6, 2: // enhanced packet; obsolete packet (a 16-bit interface id, then the same layout)
			if len(body) < 20 {
				continue
			}
			id := int(pr.order.Uint32(body[0:4]))
			if typ == 2 {
				id = int(pr.order.Uint16(body[0:2]))
			}
			incl := pr.order.Uint32(body[12:16])
			if uint64(incl) > uint64(len(body)-20) {
				incl = uint32(len(body) - 20)
			}
			if !pr.packet(rec, id, pr.order.Uint32(body[4:8]), pr.order.Uint32(body[8:12]), int(pr.order.Uint32(body[16:20])), body[20:20+incl]) {
				continue
			}
			return nil
		case 3: // simple packet: no timestamp, interface 0
			if len(body) < 4 || len(pr.ifaces) == 0 {
				continue
			}
			orig := pr.order.Uint32(body[0:4])
			data := body[4:]
			if uint64(orig) < uint64(len(data)) {
				data = data[:orig]
			}
			if s := pr.ifaces[0].snaplen; s != 0 && uint64(len(data)) > uint64(s) {
				data = data[:s]
			}
			// No timestamp: reuse the previous packet's time.
			*rec = Record{Time: pr.lastTS, WireLen: int(orig), Link: pr.ifaces[0].link, Data: data}
			return nil
		}
	}
}

func (pr *PacketReader) packet(rec *Record, id int, hi, lo uint32, orig int, data []byte) bool {
	if id < 0 || id >= len(pr.ifaces) {
		return false
	}
	ifc := &pr.ifaces[id]
	ns := ifc.toNS(uint64(hi)<<32|uint64(lo)) + ifc.offset
	pr.lastTS = ns
	*rec = Record{Time: ns, WireLen: orig, Link: ifc.link, Iface: id, Data: data}
	return true
}

func (pr *PacketReader) addIface(body []byte) {
	if len(pr.ifaces) >= 1<<16 {
		return
	}
	ifc := ngIface{exp: 6} // default resolution: microseconds
	if len(body) >= 8 {
		ifc.link = int(pr.order.Uint16(body[0:2]))
		ifc.snaplen = pr.order.Uint32(body[4:8])
		for opts := body[8:]; len(opts) >= 4; {
			code := pr.order.Uint16(opts[0:2])
			n := int(pr.order.Uint16(opts[2:4]))
			if code == 0 || 4+n > len(opts) {
				break
			}
			v := opts[4 : 4+n]
			switch {
			case code == 9 && n >= 1: // if_tsresol
				ifc.pow2, ifc.exp = v[0]&0x80 != 0, int(v[0]&0x7f)
			case code == 14 && n >= 8: // if_tsoffset, seconds
				off := int64(pr.order.Uint64(v[:8]))
				if off > -1<<32 && off < 1<<32 {
					ifc.offset = off * 1e9
				}
			}
			opts = opts[4+(n+3)&^3:]
		}
	}
	pr.ifaces = append(pr.ifaces, ifc)
}

// toNS converts a timestamp in interface units into nanoseconds.
func (ifc *ngIface) toNS(ts uint64) int64 {
	if ifc.pow2 {
		e := uint(min(ifc.exp, 63))
		whole := ts >> e
		frac := ts & (1<<e - 1)
		hi, lo := bits.Mul64(frac, 1e9)
		// (hi:lo) >> e
		f := lo>>e | hi<<(64-e)
		if e == 0 {
			f = 0
		}
		return int64(whole*1e9 + f)
	}
	if ifc.exp <= 9 {
		return int64(ts * pow10[9-ifc.exp])
	}
	return int64(ts / pow10[min(ifc.exp, 19)-9])
}

var pow10 = [...]uint64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10}
