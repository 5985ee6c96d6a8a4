package pcapng

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 123456789, time.UTC)

// arpFrame is an ARP request (42 bytes) with i in the target address.
func arpFrame(i int) []byte {
	b := []byte{
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 0x08, 0x06,
		0, 1, 8, 0, 6, 4, 0, 1,
		0x02, 0, 0, 0, 0, 1, 10, 0, 0, 1,
		0, 0, 0, 0, 0, 0, 10, 0, byte(i >> 8), byte(i),
	}
	return b
}

// got is what a test reads: packets (copied), statistics, and the last
// section with its interfaces.
type got struct {
	Format   Format
	Section  Section
	Ifaces   []Interface
	Sections int
	Packets  []Packet
	Stats    []Stats
	Err      error // the final error; nil for io.EOF
}

// readAll reads b through NewReader and copies everything out.
func readAll(t testing.TB, b []byte) got {
	t.Helper()
	r, err := NewReader(bytes.NewReader(b))
	if err != nil {
		return got{Err: err}
	}
	return drain(r)
}

func drain(r *Reader) got {
	var g got
	g.Format = r.Format()
	r.OnStats = func(st *Stats) { g.Stats = append(g.Stats, *st) }
	var p Packet
	for {
		err := r.Next(&p)
		if err != nil {
			if err != io.EOF {
				g.Err = err
			}
			break
		}
		q := p
		q.Data = bytes.Clone(p.Data)
		if p.Comment != nil {
			q.Comment = bytes.Clone(p.Comment)
		}
		g.Packets = append(g.Packets, q)
	}
	g.Section = r.Section()
	g.Ifaces = append([]Interface(nil), r.Interfaces()...)
	g.Sections = r.sections
	return g
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// blockBuilder builds pcapng blocks by hand in either byte order.
type blockBuilder struct {
	bo binary.AppendByteOrder
	b  []byte
}

func (bb *blockBuilder) block(typ uint32, body []byte) {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	n := uint32(12 + len(body))
	bb.b = bb.bo.AppendUint32(bb.b, typ)
	bb.b = bb.bo.AppendUint32(bb.b, n)
	bb.b = append(bb.b, body...)
	bb.b = bb.bo.AppendUint32(bb.b, n)
}

func (bb *blockBuilder) opt(b []byte, code uint16, v []byte) []byte {
	b = bb.bo.AppendUint16(b, code)
	b = bb.bo.AppendUint16(b, uint16(len(v)))
	b = append(b, v...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func (bb *blockBuilder) shb(opts ...[]byte) {
	b := bb.bo.AppendUint32(nil, byteOrderMagic)
	b = bb.bo.AppendUint16(b, 1)
	b = bb.bo.AppendUint16(b, 0)
	b = bb.bo.AppendUint64(b, ^uint64(0))
	for _, o := range opts {
		b = append(b, o...)
	}
	bb.block(blockSHB, b)
}

func (bb *blockBuilder) idb(link uint16, snap uint32, opts ...[]byte) {
	b := bb.bo.AppendUint16(nil, link)
	b = bb.bo.AppendUint16(b, 0)
	b = bb.bo.AppendUint32(b, snap)
	for _, o := range opts {
		b = append(b, o...)
	}
	if len(opts) > 0 {
		b = append(b, 0, 0, 0, 0)
	}
	bb.block(blockIDB, b)
}

func (bb *blockBuilder) epb(id uint32, ts uint64, data []byte, opts ...[]byte) {
	b := bb.bo.AppendUint32(nil, id)
	b = bb.bo.AppendUint32(b, uint32(ts>>32))
	b = bb.bo.AppendUint32(b, uint32(ts))
	b = bb.bo.AppendUint32(b, uint32(len(data)))
	b = bb.bo.AppendUint32(b, uint32(len(data)))
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	for _, o := range opts {
		b = append(b, o...)
	}
	if len(opts) > 0 {
		b = append(b, 0, 0, 0, 0)
	}
	bb.block(blockEPB, b)
}

// pcapFile builds a classic pcap file.
func pcapFile(bo binary.AppendByteOrder, nano bool, link uint32, recs [][2]uint32, data [][]byte) []byte {
	magic := uint32(pcapMagicUS)
	if nano {
		magic = pcapMagicNS
	}
	b := bo.AppendUint32(nil, magic)
	b = bo.AppendUint16(b, 2)
	b = bo.AppendUint16(b, 4)
	b = bo.AppendUint32(b, 0)
	b = bo.AppendUint32(b, 0)
	b = bo.AppendUint32(b, 65535)
	b = bo.AppendUint32(b, link)
	for i, r := range recs {
		b = bo.AppendUint32(b, r[0])
		b = bo.AppendUint32(b, r[1])
		b = bo.AppendUint32(b, uint32(len(data[i])))
		b = bo.AppendUint32(b, uint32(len(data[i])+4))
		b = append(b, data[i]...)
	}
	return b
}

func isTruncated(err error, valid int64) bool {
	var te *TruncatedError
	return errors.As(err, &te) && te.Valid == valid && errors.Is(err, ErrTruncated)
}
