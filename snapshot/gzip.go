package snapshot

import (
	"bufio"
	"encoding/binary"
	"errors"
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
//     not compressed, followed by
//   - everything after it (interface, packet and statistics blocks), in a
//     member compressed as it is written.
//
// Once the merge has counted the packets, the section header is written
// again with its final comment and the head member is rewritten in place at
// offset 0. The head member keeps its length because the slack is not in
// the pcapng data (no padded comment for Wireshark to show) but in the gzip
// header's extra field (FEXTRA, which readers skip): the member is written
// with headSlack bytes of it, and the final section header, up to headSlack
// bytes longer, takes its room from there.

// headSlack is the room kept in the head member for the section header to
// grow when it is rewritten.
const headSlack = 1024

// gzipExtraID is the subfield id of the head member's padding ("AP", arpbox
// padding; RFC 1952 §2.3.1.1).
var gzipExtraID = [2]byte{'A', 'P'}

// storedLen is the length of n bytes as stored deflate blocks.
func storedLen(n int) int {
	blocks := max((n+0xfffe)/0xffff, 1)
	return n + 5*blocks
}

// storedGzipLen is the length of the member appendStoredGzip writes.
func storedGzipLen(n, pad int) int { return 10 + 2 + 4 + pad + storedLen(n) + 8 }

// appendStoredGzip appends data as one gzip member of stored deflate blocks,
// with pad bytes of padding in its extra field. Its length depends only on
// len(data) and pad (see storedGzipLen).
func appendStoredGzip(dst, data []byte, pad int) []byte {
	dst = append(dst, 0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff) // magic, deflate, FEXTRA, no mtime, unknown OS
	dst = binary.LittleEndian.AppendUint16(dst, uint16(4+pad))
	dst = append(dst, gzipExtraID[0], gzipExtraID[1])
	dst = binary.LittleEndian.AppendUint16(dst, uint16(pad))
	dst = append(dst, make([]byte, pad)...)
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
// the compressed member. Compression runs on its own goroutine, fed
// whole buffers, so it overlaps with the merge on a second core; the
// goroutine is started by the head's last byte and stopped by close or
// abort, one of which the owner must call.
type gzipCapture struct {
	f       *os.File
	headLen int
	head    []byte
	member  int // length of the head member once written

	cur  []byte      // filling
	work chan []byte // full buffers, to compress
	free chan []byte // compressed buffers, to fill again
	done chan error  // the compressor's result, once work is closed
}

const (
	gzipBufSize = 256 << 10
	gzipBufs    = 3
)

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
		if err := c.start(); err != nil {
			return n, err
		}
	}
	for len(p) > 0 {
		k := min(cap(c.cur)-len(c.cur), len(p))
		c.cur = append(c.cur, p[:k]...)
		p, n = p[k:], n+k
		if len(c.cur) == cap(c.cur) {
			c.work <- c.cur
			select {
			case c.cur = <-c.free:
			case err := <-c.done: // the compressor stopped early
				c.done = nil
				if err == nil {
					err = errors.New("compressor stopped")
				}
				return n, err
			}
		}
	}
	return n, nil
}

// start writes the head member and starts the compressor.
func (c *gzipCapture) start() error {
	m := appendStoredGzip(nil, c.head, headSlack)
	if _, err := c.f.Write(m); err != nil {
		return err
	}
	c.member = len(m)
	bw := bufio.NewWriterSize(c.f, gzipBufSize)
	gz, err := gzip.NewWriterLevel(bw, gzip.BestSpeed)
	if err != nil {
		return err
	}
	c.cur = make([]byte, 0, gzipBufSize)
	c.work = make(chan []byte, gzipBufs)
	c.free = make(chan []byte, gzipBufs)
	for range gzipBufs - 1 {
		c.free <- make([]byte, 0, gzipBufSize)
	}
	c.done = make(chan error, 1)
	work, free, done := c.work, c.free, c.done
	go func() {
		var err error
		for b := range work {
			if err == nil {
				_, err = gz.Write(b)
			}
			free <- b[:0]
			if err != nil {
				done <- err
				for range work { // let the writer's sends through until it sees the error
				}
				return
			}
		}
		if err = gz.Close(); err == nil {
			err = bw.Flush()
		}
		done <- err
	}()
	return nil
}

// close compresses what is buffered, ends the compressed member and
// flushes it to the file.
func (c *gzipCapture) close() error {
	if c.work == nil {
		return fmt.Errorf("capture closed after %d bytes, before the end of its %d-byte section header", len(c.head), c.headLen)
	}
	if len(c.cur) > 0 {
		c.work <- c.cur
		c.cur = nil
	}
	return c.stop()
}

// abort stops the compressor, if it runs, without finishing the member.
func (c *gzipCapture) abort() {
	if c.work != nil {
		c.stop()
	}
}

func (c *gzipCapture) stop() error {
	close(c.work)
	c.work = nil
	if c.done == nil { // the compressor already reported its error
		return errors.New("compressor stopped")
	}
	err := <-c.done
	c.done = nil
	return err
}

// rewriteHead replaces the head (the section header block) with head and
// rewrites the head member in place: it keeps its length, the padding in
// its extra field shrinking by as much as the head grew (at most
// headSlack).
func (c *gzipCapture) rewriteHead(head []byte) error {
	if c.member == 0 {
		return errors.New("rewrite of a section header not written yet")
	}
	pad := c.member - storedGzipLen(len(head), 0)
	if pad < 0 || pad > 0xffff-4 {
		return fmt.Errorf("rewrite of the %d-byte section header as %d bytes: %d bytes of room", len(c.head), len(head), c.member-storedGzipLen(0, 0))
	}
	m := appendStoredGzip(nil, head, pad)
	if len(m) != c.member {
		return fmt.Errorf("section header member is %d bytes, was %d", len(m), c.member)
	}
	if _, err := c.f.WriteAt(m, 0); err != nil {
		return err
	}
	c.head = append(c.head[:0], head...)
	return nil
}

var _ io.Writer = (*gzipCapture)(nil)
