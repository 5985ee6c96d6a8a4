package snapshot

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"github.com/klauspost/compress/gzip"
)

// The bundle's capture is one gzip file of two members, which every gzip
// reader (zlib, Wireshark, tshark, capinfos, zcat, Go's gzip.Reader) reads
// as one stream (RFC 1952 §2.2):
//
//   - the section header block, in a member whose deflate data is stored,
//     not compressed, so its length does not depend on its content: once
//     the merge has counted the packets, the status line is written into it
//     and the member is rewritten in place at offset 0, same length;
//   - everything after it (interface, packet and statistics blocks), in a
//     member compressed as it is written.

// appendStoredGzip appends data as one gzip member of stored deflate blocks.
// Its length depends only on len(data).
func appendStoredGzip(dst, data []byte) []byte {
	dst = append(dst, 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff) // magic, deflate, no flags, no mtime, unknown OS
	rest := data
	for {
		n := min(len(rest), 0xffff)
		final := byte(0)
		if n == len(rest) {
			final = 1
		}
		dst = append(dst, final) // BFINAL, BTYPE=00 (stored)
		dst = binary.LittleEndian.AppendUint16(dst, uint16(n))
		dst = binary.LittleEndian.AppendUint16(dst, ^uint16(n))
		dst = append(dst, rest[:n]...)
		rest = rest[n:]
		if final == 1 {
			break
		}
	}
	dst = binary.LittleEndian.AppendUint32(dst, crc32.ChecksumIEEE(data))
	return binary.LittleEndian.AppendUint32(dst, uint32(len(data)))
}

// gzipCapture is the capture file: the first headLen bytes written to it
// (the section header block) go into the stored head member, the rest into
// the compressed member.
type gzipCapture struct {
	f       *os.File
	headLen int
	head    []byte
	member  int // length of the head member once written
	bw      *bufio.Writer
	gz      *gzip.Writer
}

func newGzipCapture(f *os.File, headLen int) *gzipCapture {
	return &gzipCapture{f: f, headLen: headLen, head: make([]byte, 0, headLen)}
}

func (c *gzipCapture) Write(p []byte) (int, error) {
	n := 0
	if len(c.head) < c.headLen {
		k := min(c.headLen-len(c.head), len(p))
		c.head = append(c.head, p[:k]...)
		p, n = p[k:], k
		if len(c.head) < c.headLen {
			return n, nil
		}
		m := appendStoredGzip(nil, c.head)
		if _, err := c.f.Write(m); err != nil {
			return n, err
		}
		c.member = len(m)
		c.bw = bufio.NewWriterSize(c.f, 256<<10)
		gz, err := gzip.NewWriterLevel(c.bw, gzip.BestSpeed)
		if err != nil {
			return n, err
		}
		c.gz = gz
	}
	if len(p) == 0 {
		return n, nil
	}
	k, err := c.gz.Write(p)
	return n + k, err
}

// close ends the compressed member and flushes it to the file.
func (c *gzipCapture) close() error {
	if c.gz == nil {
		return fmt.Errorf("capture closed after %d bytes, before the end of its %d-byte section header", len(c.head), c.headLen)
	}
	if err := c.gz.Close(); err != nil {
		return err
	}
	return c.bw.Flush()
}

// rewriteHead writes value into the head at off and rewrites the head
// member in place (it keeps its length).
func (c *gzipCapture) rewriteHead(off int, value string) error {
	if c.gz == nil || off < 0 || off+len(value) > len(c.head) {
		return fmt.Errorf("rewrite %d bytes at %d of a %d-byte section header", len(value), off, len(c.head))
	}
	copy(c.head[off:], value)
	m := appendStoredGzip(nil, c.head)
	if len(m) != c.member {
		return fmt.Errorf("section header member is %d bytes, was %d", len(m), c.member)
	}
	_, err := c.f.WriteAt(m, 0)
	return err
}

var _ io.Writer = (*gzipCapture)(nil)
