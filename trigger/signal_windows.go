package trigger

import "context"

// Run waits for ctx: Windows has no SIGUSR1. Use the trigger file or
// `arpbox snapshot` instead.
func (s *SignalSource) Run(ctx context.Context, emit func(Event)) error {
	<-ctx.Done()
	return nil
}
