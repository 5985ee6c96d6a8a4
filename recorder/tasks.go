package recorder

import (
	"context"
	"log/slog"
	"net"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/arpbox/arpbox/internal/backoff"
)

// A task is one long-lived part of the recorder around the recording. An
// essential task's failure stops the recorder, as a capture source's or
// the ring's does (those run in Run itself); any other task is a helper:
// its failure is logged and it is restarted with backoff, so a broken
// trigger file or netlink socket never stops the recording.
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

// serveAgain returns a helper that serves on ln the first time and on a
// fresh listener from listen after that: a server closes its listener (and
// removes its socket) when it fails, so a restarted helper needs a new one.
// The helper is run by one goroutine at a time (runHelper).
func serveAgain(ln net.Listener, listen func() (net.Listener, error), serve func(context.Context, net.Listener) error) func(context.Context) error {
	return func(ctx context.Context) error {
		l := ln
		ln = nil
		if l == nil {
			var err error
			if l, err = listen(); err != nil {
				return err
			}
		}
		return serve(ctx, l)
	}
}
