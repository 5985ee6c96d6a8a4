package recorder

// TEMPORARY until the capture seam lands: adapts today's capture API.

import (
	"context"

	"github.com/arpbox/arpbox/capture"
)

type fileSource struct {
	path   string
	filter capture.Filter
	n      uint64
}

func newFileSource(path string, f capture.Filter) (*fileSource, []string, error) {
	names, err := capture.FileInterfaces(path)
	return &fileSource{path: path, filter: f}, names, err
}

func (s *fileSource) Stats() capture.Stats { return capture.Stats{} }
func (s *fileSource) Run(ctx context.Context, deliver func(*capture.Batch)) error {
	batches := make(chan *capture.Batch, 64)
	errc := make(chan error, 1)
	go func() {
		errc <- capture.ReplayFile(ctx, s.path, s.filter, batches)
		close(batches)
	}()
	for b := range batches {
		deliver(b)
	}
	return <-errc
}

type liveSource struct{ *capture.Live }

func (l liveSource) Run(ctx context.Context, deliver func(*capture.Batch)) error {
	return l.Live.RunFunc(ctx, deliver)
}

type source interface {
	Run(ctx context.Context, deliver func(*capture.Batch)) error
	Stats() capture.Stats
}
