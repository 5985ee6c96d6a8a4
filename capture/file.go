package capture

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// packetReader is what pcapgo's Reader and NgReader have in common.
type packetReader interface {
	ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	LinkType() layers.LinkType
}

// ReplayFile sends the frames of a pcap or pcapng file (optionally
// gzip-compressed; the format is told by its magic number) that pass filter
// to out, in batches, as fast as out takes them; the zero Filter passes all.
// Batch.Iface is the pcapng interface id (0 for pcap). Only Ethernet
// interfaces are read; pcapng sections with an unknown version are skipped.
//
// It returns nil at the end of the file or when ctx is cancelled. A file
// that ends inside a record is not hidden: the frames before the tear are
// sent, then the error wraps ErrTruncated.
func ReplayFile(ctx context.Context, path string, filter Filter, out chan<- *Batch) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	defer f.Close()
	r, err := openReader(f)
	if err == io.EOF {
		return nil // a pcapng section header and nothing else
	}
	if err != nil {
		return fmt.Errorf("replay %s: %w", path, err)
	}
	if lt := r.LinkType(); lt != layers.LinkTypeEthernet {
		return fmt.Errorf("replay %s: link type %v, want Ethernet", path, lt)
	}

	pool := newBatchPool(batchBytes, ctx.Done())
	var b *Batch
	send := func() bool {
		if b == nil || len(b.Frames) == 0 {
			return true
		}
		select {
		case out <- b:
			b = nil
			return true
		case <-ctx.Done():
			return false
		}
	}
	defer func() {
		if b != nil {
			b.Release()
		}
	}()
	for n := 0; ; n++ {
		data, ci, err := r.ZeroCopyReadPacketData()
		if err != nil {
			if !send() {
				return nil
			}
			// pcapgo's pcap reader says io.EOF when a record header is
			// complete and its data missing altogether.
			if errors.Is(err, io.ErrUnexpectedEOF) || (err == io.EOF && ci.CaptureLength > 0) {
				return fmt.Errorf("replay %s: record %d: %w (%w)", path, n+1, ErrTruncated, err)
			}
			if err == io.EOF {
				return nil
			}
			return fmt.Errorf("replay %s: record %d: %w", path, n+1, err)
		}
		if !filter.Match(data) {
			continue
		}
		if len(data) > pool.bufSize {
			data = data[:pool.bufSize]
		}
		if b != nil && (b.Iface != ci.InterfaceIndex || !b.fits(len(data))) && !send() {
			return nil
		}
		if b == nil {
			if b = pool.get(ci.InterfaceIndex); b == nil {
				return nil
			}
		}
		b.add(ci.Timestamp, ci.Length, data)
		if ctx.Err() != nil {
			return nil
		}
	}
}

// Magic numbers of the file formats, as the first four bytes read little-endian.
const (
	magicPcapng    = 0x0a0d0d0a
	magicPcapUS    = 0xa1b2c3d4
	magicPcapNS    = 0xa1b23c4d
	magicPcapUSSwp = 0xd4c3b2a1
	magicPcapNSSwp = 0x4d3cb2a1
)

func openReader(f io.Reader) (packetReader, error) {
	br := bufio.NewReaderSize(f, 64<<10)
	head, err := br.Peek(4)
	if len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		br = bufio.NewReaderSize(zr, 64<<10)
		head, err = br.Peek(4)
	}
	if err != nil {
		if len(head) > 0 {
			return nil, fmt.Errorf("file header: %w (%w)", ErrTruncated, err)
		}
		return nil, fmt.Errorf("empty file: %w", err)
	}
	var r packetReader
	switch binary.LittleEndian.Uint32(head) {
	case magicPcapng:
		r, err = pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{SkipUnknownVersion: true})
	case magicPcapUS, magicPcapNS, magicPcapUSSwp, magicPcapNSSwp:
		r, err = pcapgo.NewReader(br)
	default:
		return nil, fmt.Errorf("not a pcap or pcapng file (magic % x)", head)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("file header: %w (%w)", ErrTruncated, err)
	}
	return r, err
}
