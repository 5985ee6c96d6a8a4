package trigger

import (
	"context"

	"github.com/arpbox/arpbox/bundle"
)

// Run waits for ctx: Windows has no SIGUSR1. Use the trigger file or
// `arpbox snapshot` instead.
func (s *SignalSource) Run(ctx context.Context, emit func(bundle.Event)) error {
	<-ctx.Done()
	return nil
}
