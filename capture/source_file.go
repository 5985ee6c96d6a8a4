package capture

import (
	"context"
	"sync/atomic"
)

// FileSource replays a pcap or pcapng file (optionally gzip-compressed) as
// a Source, as fast as deliver takes the batches; see ReplayFile for what
// is read and how a torn file is reported. Batch.Iface is the file's
// interface id, in the order Interfaces names them.
type FileSource struct {
	path   string
	filter Filter

	received atomic.Uint64
}

// NewFileSource returns a source that replays the frames of path that pass
// filter (the zero Filter passes all). It opens nothing until Run.
func NewFileSource(path string, filter Filter) *FileSource {
	return &FileSource{path: path, filter: filter}
}

// Interfaces names the file's interfaces, indexed by Batch.Iface (see
// FileInterfaces). It reads the whole file.
func (f *FileSource) Interfaces() ([]string, error) { return FileInterfaces(f.path) }

// Run replays the file once, calling deliver with each batch on the calling
// goroutine, and returns nil at the end of the file or when ctx is
// cancelled; an error if the file cannot be read or is torn (wrapping
// ErrTruncated, after the frames before the tear were delivered). The file
// is read on a second goroutine, ahead of deliver by a few batches; it has
// stopped when Run returns.
func (f *FileSource) Run(ctx context.Context, deliver func(*Batch)) error {
	out := make(chan *Batch, poolMax/2)
	errc := make(chan error, 1)
	go func() {
		errc <- ReplayFile(ctx, f.path, f.filter, out)
		close(out)
	}()
	for b := range out {
		f.received.Add(uint64(len(b.Frames)))
		deliver(b)
	}
	return <-errc
}

// Stats counts the frames delivered so far as Received; a file has no
// drops or reopens.
func (f *FileSource) Stats() Stats { return Stats{Received: f.received.Load()} }
