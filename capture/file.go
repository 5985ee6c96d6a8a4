package capture

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/arpbox/arpbox/internal/pcapng"
)

// ReplayFile sends the frames of a pcap or pcapng file (optionally
// gzip-compressed; the format is told by its magic number) that pass filter
// to out, in batches, as fast as out takes them; the zero Filter passes all.
// Batch.Iface is the pcapng interface id (0 for pcap). Only Ethernet
// interfaces are read: a file whose first interface is not Ethernet is an
// error, frames of other non-Ethernet interfaces are skipped. A pcapng
// section of a version internal/pcapng does not know is an error.
//
// It returns nil at the end of the file or when ctx is cancelled. A file
// that ends inside a record is not hidden: the frames before the tear are
// sent, then the error wraps ErrTruncated.
func ReplayFile(ctx context.Context, path string, filter Filter, out chan<- *Batch) error {
	r, err := openReader(path)
	if err != nil {
		return err
	}
	defer r.Close()
	if err := checkLink(path, r, nil); err != nil {
		return err
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
	var p pcapng.Packet
	for n := 0; ; n++ {
		if err := r.Next(&p); err != nil {
			if !send() {
				return nil
			}
			if err == io.EOF {
				return nil
			}
			if errors.Is(err, pcapng.ErrTruncated) {
				return fmt.Errorf("replay %s: record %d: %w (%w)", path, n+1, ErrTruncated, err)
			}
			return fmt.Errorf("replay %s: record %d: %w", path, n+1, err)
		}
		if p.LinkType != pcapng.LinkTypeEthernet {
			if err := checkLink(path, r, &p); err != nil {
				return err
			}
			continue
		}
		data := p.Data
		if !filter.Match(data) {
			continue
		}
		if len(data) > pool.bufSize {
			data = data[:pool.bufSize]
		}
		if b != nil && (b.Iface != p.Interface || !b.fits(len(data))) && !send() {
			return nil
		}
		if b == nil {
			if b = pool.get(p.Interface); b == nil {
				return nil
			}
		}
		b.add(time.Unix(0, p.Timestamp), p.Length, data)
		if ctx.Err() != nil {
			return nil
		}
	}
}

// checkLink refuses a file whose first interface is not Ethernet: a pcap
// file (checked before the first packet), or a pcapng file whose packet p
// is on its first section's first interface.
func checkLink(path string, r *fileReader, p *pcapng.Packet) error {
	var lt uint16
	switch {
	case p == nil && r.Format() == pcapng.FormatPcap:
		lt = r.Interfaces()[0].LinkType
	case p != nil && p.Section == 0 && p.Interface == 0:
		lt = p.LinkType
	default:
		return nil
	}
	if lt != pcapng.LinkTypeEthernet {
		return fmt.Errorf("replay %s: link type %d, want Ethernet (1)", path, lt)
	}
	return nil
}

// openReader opens a capture file; closing the reader closes the file.
func openReader(path string) (*fileReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	r, err := pcapng.NewReader(f)
	if err != nil {
		f.Close()
		if errors.Is(err, pcapng.ErrTruncated) {
			return nil, fmt.Errorf("replay %s: file header: %w (%w)", path, ErrTruncated, err)
		}
		return nil, fmt.Errorf("replay %s: %w", path, err)
	}
	return &fileReader{r, f}, nil
}

// fileReader is a Reader of an open file.
type fileReader struct {
	*pcapng.Reader
	f *os.File
}

func (r *fileReader) Close() error {
	return errors.Join(r.Reader.Close(), r.f.Close())
}
