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

// gzipCapture writes the compressed member after the stored head.
type gzipCapture struct {
	f    *os.File
	bw   *bufio.Writer
	gz   *gzip.Writer
	head int // length of the head member
}

// newGzipCapture writes head (the section header block) as the first member
// of f and returns the writer for the rest of the capture.
func newGzipCapture(f *os.File, head []byte) (*gzipCapture, error) {
	m := appendStoredGzip(nil, head)
	if _, err := f.Write(m); err != nil {
		return nil, err
	}
	bw := bufio.NewWriterSize(f, 256<<10)
	gz, err := gzip.NewWriterLevel(bw, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	return &gzipCapture{f: f, bw: bw, gz: gz, head: len(m)}, nil
}

func (c *gzipCapture) Write(p []byte) (int, error) { return c.gz.Write(p) }

// close ends the compressed member and flushes it to the file.
func (c *gzipCapture) close() error {
	if err := c.gz.Close(); err != nil {
		return err
	}
	return c.bw.Flush()
}

// rewriteHead replaces the head member with head, which must be as long as
// the head it was created with.
func (c *gzipCapture) rewriteHead(head []byte) error {
	m := appendStoredGzip(nil, head)
	if len(m) != c.head {
		return fmt.Errorf("section header member is %d bytes, was %d", len(m), c.head)
	}
	_, err := c.f.WriteAt(m, 0)
	return err
}

var _ io.Writer = (*gzipCapture)(nil)
