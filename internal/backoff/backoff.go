// Package backoff spaces out retries: a delay that doubles from a minimum to a cap.
package backoff

import (
	"context"
	"time"
)

// Backoff is a retry delay that starts at a minimum and doubles on every
// Next up to a maximum. The zero value is not usable; call New. Not safe for concurrent use:
// it belongs to the one loop that retries.
type Backoff struct {
	min, max, next time.Duration
}

// New returns a backoff whose first delay is min, doubling to at most max.
// A min <= 0 is taken as 1 ns; a max below min is taken as min.
func New(min, max time.Duration) *Backoff {
	if min <= 0 {
		min = 1
	}
	if max < min {
		max = min
	}
	return &Backoff{min: min, max: max, next: min}
}

// Next returns the delay to wait before this retry and doubles the next one
// (up to the maximum).
func (b *Backoff) Next() time.Duration {
	d := b.next
	if b.next <= b.max/2 {
		b.next *= 2
	} else {
		b.next = b.max
	}
	return d
}

// Reset makes the next delay the minimum again: call it once the retried thing
// works.
func (b *Backoff) Reset() { b.next = b.min }

// Wait sleeps for Next's delay. It returns ctx's error if ctx is cancelled
// first (at once if it already is), nil otherwise.
func (b *Backoff) Wait(ctx context.Context) error {
	return Sleep(ctx, b.Next())
}

// Sleep waits for d or until ctx is cancelled, whichever comes first; it
// returns ctx's error in the second case. A d <= 0 returns at once.
func Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
