package recorder

import (
	"context"
	"log/slog"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/arpbox/arpbox/internal/backoff"
)

// A task is one long-lived part of the recorder. An essential task's
// failure stops the recorder (capture and the ring are the recording);
// any other task is a helper: its failure is logged and it is restarted
// with backoff, so a broken trigger file or netlink socket never stops the
// recording.
type task struct {
	name      string
	essential bool
	run       func(ctx context.Context) error
}

// Helper restart backoff: 1 s doubling to 1 min.
const (
	helperMinBackoff = time.Second
	helperMaxBackoff = time.Minute
)

// start runs t under g.
func (t task) start(g *errgroup.Group, ctx context.Context, log *slog.Logger) {
	if t.essential {
		g.Go(func() error { return t.run(ctx) })
		return
	}
	g.Go(func() error {
		runHelper(ctx, log, t.name, t.run, helperMinBackoff, helperMaxBackoff)
		return nil
	})
}

// runHelper runs fn until it returns nil or ctx is done, restarting it
// after each failure with a backoff from lo doubling to hi.
func runHelper(ctx context.Context, log *slog.Logger, name string, fn func(context.Context) error, lo, hi time.Duration) {
	retry := backoff.New(lo, hi)
	for {
		err := fn(ctx)
		if err == nil || ctx.Err() != nil {
			return // done, or stopping
		}
		wait := retry.Next()
		log.Error("helper failed; recording goes on, retrying", "helper", name, "err", err, "retry_in", wait)
		if backoff.Sleep(ctx, wait) != nil {
			return
		}
	}
}
