package capture

import "context"

// Source is where batches of frames come from: a live interface (Live) or a
// capture file (FileSource).
//
// Run reads until ctx is cancelled or the source ends and calls deliver
// with each batch, on Run's own goroutine (no handoff per batch); deliver
// must Release the batch, soon, since a source has a bounded pool of them
// and waits for a Release when all are out. Run returns nil when ctx is
// cancelled or a file ends, and an error only for what the source cannot
// get past. Stats is safe to call from any goroutine, during and after Run.
type Source interface {
	Run(ctx context.Context, deliver func(*Batch)) error
	Stats() Stats
}

var (
	_ Source = (*Live)(nil)
	_ Source = (*FileSource)(nil)
)
