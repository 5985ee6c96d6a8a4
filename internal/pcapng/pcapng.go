// Package pcapng reads and writes pcapng capture files (and reads pcap), for the ring, bundles, replay and reports.
package pcapng

// The format is draft-ietf-opsawg-pcapng (PCAP Next Generation Dump File
// Format); classic pcap is draft-ietf-opsawg-pcap. The Reader reads either,
// in either byte order, optionally gzip-compressed, without allocating per
// packet. The Append functions and the Writer write little-endian pcapng with
// nanosecond timestamps, also without allocating per packet. Scan and Repair
// find the valid prefix of a file that ends in a torn or garbage tail.
//
// The block type numbers and option codes of the format live in this package
// and nowhere else in arpbox.

import (
	"errors"
	"fmt"
)

// MaxBlockLen is the largest pcapng block or pcap record (header included)
// accepted by the reader and Scan, and written by the Writer; a larger length
// means a corrupt file, not a big packet. Wireshark's limit is the same.
const MaxBlockLen = 16 << 20

// LinkTypeEthernet is LINKTYPE_ETHERNET, the link type arpbox records.
const LinkTypeEthernet = 1

// Block types (pcapng section 4 and 11.1).
const (
	blockSHB = 0x0A0D0D0A // section header
	blockIDB = 0x00000001 // interface description
	blockOPB = 0x00000002 // packet (obsolete)
	blockSPB = 0x00000003 // simple packet
	blockISB = 0x00000005 // interface statistics
	blockEPB = 0x00000006 // enhanced packet

	byteOrderMagic = 0x1A2B3C4D
)

// Option codes (pcapng section 3.5 and the block sections).
const (
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

	isbStartTime    = 2
	isbEndTime      = 3
	isbIfRecv       = 4
	isbIfDrop       = 5
	isbFilterAccept = 6
	isbOSDrop       = 7
	isbUsrDeliv     = 8
)

// pcap magic numbers, as the first four bytes read little-endian.
const (
	pcapMagicUS    = 0xa1b2c3d4
	pcapMagicNS    = 0xa1b23c4d
	pcapMagicUSSwp = 0xd4c3b2a1
	pcapMagicNSSwp = 0x4d3cb2a1
)

// Format is the file format a Reader reads.
type Format uint8

// The formats.
const (
	FormatPcap Format = iota + 1
	FormatPcapng
)

func (f Format) String() string {
	switch f {
	case FormatPcap:
		return "pcap"
	case FormatPcapng:
		return "pcapng"
	}
	return "unknown"
}

// Section is a pcapng section header's information. Reading fills Major and
// Minor; writing always writes version 1.0.
type Section struct {
	Major, Minor uint16
	Comment      string // opt_comment (the first one)
	Hardware     string // shb_hardware
	OS           string // shb_os
	UserAppl     string // shb_userappl
	// Reserve, when writing, adds a second comment of Reserve spaces right
	// after Comment, for the caller to overwrite in place (same length)
	// once the file is written; ReservedOffset says where it is.
	Reserve int
}

// Interface is a pcapng interface description (or a pcap file header).
type Interface struct {
	LinkType    uint16 // LINKTYPE_*
	SnapLen     uint32 // 0: no limit
	Name        string // if_name
	Description string // if_description
	Comment     string // opt_comment (the first one)
	Filter      string // if_filter, libpcap filter string only
	OS          string // if_os
	// TSResol is if_tsresol as stored: units of 10^-n seconds, or of
	// 2^-n seconds with the top bit set. Reading gives 6 (microseconds)
	// where the option is absent. Writers always write 9 (nanoseconds)
	// and ignore this field.
	TSResol uint8
	// TSOffset is if_tsoffset in seconds, already added to the timestamps
	// the Reader returns. Writers do not write it.
	TSOffset int64
}

// PacketKind says which block a packet came from.
type PacketKind uint8

// The packet kinds.
const (
	KindEnhanced PacketKind = iota + 1 // enhanced packet block
	KindSimple                         // simple packet block: interface 0, no timestamp
	KindObsolete                       // obsolete packet block
	KindPcap                           // pcap record
)

// Packet is one packet as read. Data and Comment alias the Reader's buffer
// and are valid until its next call.
type Packet struct {
	Timestamp int64      // Unix nanoseconds, if_tsresol and if_tsoffset applied; 0 for a simple packet
	Interface int        // interface id within its section (0 for pcap and simple packets)
	Section   int        // 0-based index of the section (0 for pcap)
	LinkType  uint16     // the interface's link type
	Length    int        // original length on the wire
	Data      []byte     // captured bytes
	Comment   []byte     // the first opt_comment; nil if none
	Kind      PacketKind // the block it came from
}

// StatsField is a set of the optional fields of Stats.
type StatsField uint16

// The optional Stats fields.
const (
	HasStartTime      StatsField = 1 << iota // isb_starttime
	HasEndTime                               // isb_endtime
	HasReceived                              // isb_ifrecv
	HasDropped                               // isb_ifdrop
	HasFilterAccepted                        // isb_filteraccept
	HasOSDropped                             // isb_osdrop
	HasDelivered                             // isb_usrdeliv
)

// Stats is an interface statistics block. Only the fields named in Has are
// present (written, or found when read); times are Unix nanoseconds.
type Stats struct {
	Interface      int
	Timestamp      int64 // when the counts were taken
	StartTime      int64 // isb_starttime
	EndTime        int64 // isb_endtime
	Received       uint64
	Dropped        uint64
	FilterAccepted uint64
	OSDropped      uint64
	Delivered      uint64
	Comment        string // opt_comment (the first one); written if not empty
	Has            StatsField
}

// Errors. Use errors.Is; the typed errors below carry where and why.
var (
	// ErrFormat means the input is neither pcap nor pcapng (or, for Scan
	// and Repair, not pcapng).
	ErrFormat = errors.New("not a pcap or pcapng file")
	// ErrTruncated means the input ends inside a block or record (see
	// TruncatedError).
	ErrTruncated = errors.New("truncated")
	// ErrInvalid means a header, block or record is malformed (see
	// InvalidError).
	ErrInvalid = errors.New("invalid block")
	// ErrVersion means a file or section header has a version this
	// package does not know (see InvalidError).
	ErrVersion = errors.New("unsupported version")
)

// TruncatedError is returned when the input ends inside a block or record:
// a torn tail, as left by a crash or a file still being written. Valid is
// the length of the prefix of complete, well-formed blocks before it.
type TruncatedError struct {
	Format Format
	Valid  int64
}

func (e *TruncatedError) Error() string {
	what := "block"
	if e.Format == FormatPcap {
		what = "record"
	}
	if e.Valid == 0 {
		what = "file header"
	}
	return fmt.Sprintf("%v: truncated: input ends inside the %s at offset %d", e.Format, what, e.Valid)
}

// Unwrap returns ErrTruncated.
func (e *TruncatedError) Unwrap() error { return ErrTruncated }

// InvalidError is returned for a malformed header, block or record. Offset
// is where it starts, which is also the length of the valid prefix before it.
type InvalidError struct {
	Format Format
	Offset int64
	What   string // "section header", "enhanced packet block", "pcap record", …
	Reason string
	Err    error // ErrInvalid or ErrVersion
}

func (e *InvalidError) Error() string {
	return fmt.Sprintf("%v: %s at offset %d: %s", e.Format, e.What, e.Offset, e.Reason)
}

// Unwrap returns ErrInvalid or ErrVersion.
func (e *InvalidError) Unwrap() error { return e.Err }

// blockName names a block type in errors.
func blockName(typ uint32) string {
	switch typ {
	case blockSHB:
		return "section header"
	case blockIDB:
		return "interface description block"
	case blockOPB:
		return "packet block"
	case blockSPB:
		return "simple packet block"
	case blockISB:
		return "interface statistics block"
	case blockEPB:
		return "enhanced packet block"
	}
	return fmt.Sprintf("block of type %#x", typ)
}
