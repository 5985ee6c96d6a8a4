package analyze

import (
	"errors"
	"io"

	"github.com/arpbox/arpbox/internal/pcapng"
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
var ErrFormat = pcapng.ErrFormat

// maxBlock bounds one pcap record or pcapng block; larger lengths mean a
// corrupt file, not a huge packet.
const maxBlock = pcapng.MaxBlockLen

// PacketReader reads pcap or pcapng records (either optionally gzipped)
// from a stream without allocating per packet, through internal/pcapng. A
// file cut short (a ring segment still being written, a crash) is read as
// far as it goes: Next returns io.EOF and Truncated reports true.
type PacketReader struct {
	r         *pcapng.Reader
	p         pcapng.Packet
	truncated bool
	lastTS    int64 // a simple packet block has no timestamp: it gets the previous packet's
}

// NewPacketReader detects the format of r and returns a reader for it.
func NewPacketReader(r io.Reader) (*PacketReader, error) {
	pr, err := pcapng.NewReader(r)
	if err != nil {
		return nil, err
	}
	return &PacketReader{r: pr}, nil
}

// Format is "pcap" or "pcapng".
func (pr *PacketReader) Format() string { return pr.r.Format().String() }

// Truncated reports whether the input ended in the middle of a record, or
// reading stopped at a malformed one.
func (pr *PacketReader) Truncated() bool { return pr.truncated }

// Offset is the number of bytes consumed so far.
func (pr *PacketReader) Offset() int64 { return pr.r.Offset() }

// Next reads the next packet record into rec. It returns io.EOF at the end of
// the input (check Truncated) and a wrapped error for corrupt framing.
func (pr *PacketReader) Next(rec *Record) error {
	p, err := pr.next()
	if err != nil {
		return err
	}
	*rec = Record{Time: p.Timestamp, WireLen: p.Length, Link: int(p.LinkType), Iface: p.Interface, Data: p.Data}
	return nil
}

// next is Next without the copy into a Record, for the analysis loop. The
// packet, with Timestamp set for a simple packet block too, is valid until
// the next call.
func (pr *PacketReader) next() (*pcapng.Packet, error) {
	err := pr.r.Next(&pr.p)
	if err != nil {
		if errors.Is(err, pcapng.ErrTruncated) {
			pr.truncated = true
			return nil, io.EOF
		}
		if errors.Is(err, pcapng.ErrInvalid) || errors.Is(err, pcapng.ErrVersion) {
			pr.truncated = true
		}
		return nil, err
	}
	p := &pr.p
	if p.Kind == pcapng.KindSimple {
		p.Timestamp = pr.lastTS
	}
	pr.lastTS = p.Timestamp
	return p, nil
}
