package capture

import (
	"context"
	"sync"
	"sync/atomic"
)

// FileSource replays a pcap or pcapng file (optionally gzip-compressed) as
// a Source, as fast as deliver takes the batches; see ReplayFile for what
// is read and how a torn file is reported. Batch.Iface indexes the file's
// interfaces as Info lists them.
type FileSource struct {
	path   string
	filter Filter

	once sync.Once
	info FileInfo
	err  error

	received atomic.Uint64
}

// NewFileSource returns a source that replays the frames of path that pass
// filter (the zero Filter passes all). It opens nothing until Info or Run.
func NewFileSource(path string, filter Filter) *FileSource {
	return &FileSource{path: path, filter: filter}
}

// Info describes the file: its interfaces, indexed by Batch.Iface, and its
// first packet's time (see ReadFileInfo). It reads the whole file the
// first time.
func (f *FileSource) Info() (FileInfo, error) {
	f.once.Do(func() { f.info, f.err = ReadFileInfo(f.path) })
	return f.info, f.err
}

// Interfaces names the file's interfaces, indexed by Batch.Iface.
func (f *FileSource) Interfaces() ([]string, error) {
	fi, err := f.Info()
	if err != nil {
		return nil, err
	}
	names := make([]string, len(fi.Interfaces))
	for i, in := range fi.Interfaces {
		names[i] = in.Name
	}
	return names, nil
}

// Run replays the file once, calling deliver with each batch on the calling
// goroutine, and returns nil at the end of the file or when ctx is
// cancelled; an error if the file cannot be read or is torn (wrapping
// ErrTruncated, after the frames before the tear were delivered). The file
// is read on a second goroutine, ahead of deliver by a few batches; it has
// stopped when Run returns.
func (f *FileSource) Run(ctx context.Context, deliver func(*Batch)) error {
	fi, err := f.Info()
	if err != nil {
		return err
	}
	out := make(chan *Batch, poolMax/2)
	errc := make(chan error, 1)
	go func() {
		errc <- replayInfo(ctx, f.path, f.filter, &fi, out)
		close(out)
	}()
	for b := range out {
		f.received.Add(uint64(len(b.Frames)))
		deliver(b)
	}
	return <-errc
}

// Stats counts the frames delivered so far as Received; a file has no
// drops or reopens. (A ring recording a replay writes no counters: these
// are not an interface's.)
func (f *FileSource) Stats() Stats { return Stats{Received: f.received.Load()} }
