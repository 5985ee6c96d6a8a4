//go:build unix

package trigger

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/arpbox/arpbox/bundle"
)

// Run emits one event per SIGUSR1 until ctx is cancelled, then returns nil.
func (s *SignalSource) Run(ctx context.Context, emit func(bundle.Event)) error {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGUSR1)
	defer signal.Stop(ch)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ch:
			ev := manualAt("SIGUSR1 received", "signal", s.now())
			ev.Target = "SIGUSR1"
			emit(ev)
		}
	}
}
