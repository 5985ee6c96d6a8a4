package capture

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/arpbox/arpbox/analyze"
	"github.com/arpbox/arpbox/internal/arpwire"
	"github.com/arpbox/arpbox/internal/pcapng"
)

// ReplayFile sends the frames of a pcap or pcapng file (optionally
// gzip-compressed; the format is told by its magic number) that pass filter
// to out, in batches, as fast as out takes them; the zero Filter passes all.
// Batch.Iface indexes the interfaces of every section in file order (see
// ReadFileInfo). The frames of every link type the report decodes
// (LinkReadable: Ethernet, Linux cooked captures SLL and SLL2, 802.11, IPoIB, …) are read,
// those of other link types skipped; a file with none is an error. The
// filter applies to Ethernet frames, and to the other link types' by their
// EtherType; a `bpf:` filter, written for Ethernet, passes the other link
// types' frames. A section of a version internal/pcapng does not know is an
// error.
//
// It returns nil at the end of the file or when ctx is cancelled. A file
// that ends inside a record is not hidden: the frames before the tear are
// sent, then the error wraps ErrTruncated.
func ReplayFile(ctx context.Context, path string, filter Filter, out chan<- *Batch) error {
	fi, err := ReadFileInfo(path)
	if err != nil {
		return err
	}
	return replayInfo(ctx, path, filter, &fi, out)
}

// replayInfo is ReplayFile with the file's interfaces already read.
func replayInfo(ctx context.Context, path string, filter Filter, fi *FileInfo, out chan<- *Batch) error {
	r, err := openReader(path)
	if err != nil {
		return err
	}
	defer r.Close()

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
	// Which interfaces' link types are read, decided once per file.
	readable := make([]bool, len(fi.Interfaces))
	for i, in := range fi.Interfaces {
		readable[i] = LinkReadable(in.LinkType)
	}
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
		iface := fi.iface(p.Section, p.Interface)
		if iface < 0 {
			continue // declared after ReadFileInfo read the file: it changed since
		}
		data := p.Data
		if !readable[iface] || !filter.matchLink(p.LinkType, data) {
			continue
		}
		if len(data) > pool.bufSize {
			data = data[:pool.bufSize]
		}
		if b != nil && (b.Iface != iface || !b.fits(len(data))) && !send() {
			return nil
		}
		if b == nil {
			if b = pool.get(iface); b == nil {
				return nil
			}
		}
		b.add(time.Unix(0, p.Timestamp), p.Length, data)
		if ctx.Err() != nil {
			return nil
		}
	}
}

// matchLink applies the filter to a frame of a link type replay reads
// (LinkReadable; see ReplayFile).
func (f Filter) matchLink(link uint16, data []byte) bool {
	if link == arpwire.LinkEthernet {
		return f.Match(data)
	}
	var p analyze.Packet
	if analyze.Decode(int(link), data, &p) != nil {
		return f.kind == kindAll
	}
	arp, ndp := p.Proto == analyze.ProtoARP, p.Proto == analyze.ProtoNDP
	switch f.kind {
	case kindARP:
		return arp
	case kindNDP:
		return ndp
	case kindARPNDP:
		return arp || ndp
	}
	return true // a bpf: program is for Ethernet frames
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
