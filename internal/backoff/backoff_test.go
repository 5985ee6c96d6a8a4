package backoff

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestNext(t *testing.T) {
	for _, tc := range []struct {
		name     string
		min, max time.Duration
		calls    int
		resetAt  int // Reset before this call (0: never)
		want     []time.Duration
	}{
		{"doubles up to the cap and stays there", 100 * time.Millisecond, time.Second, 7, 0,
			[]time.Duration{100, 200, 400, 800, 1000, 1000, 1000}},
		{"a cap that is not a power-of-two multiple is reached exactly", time.Second, time.Minute, 8, 0,
			[]time.Duration{1, 2, 4, 8, 16, 32, 60, 60}},
		{"reset starts over at the minimum", 100 * time.Millisecond, 5 * time.Second, 5, 4,
			[]time.Duration{100, 200, 400, 100, 200}},
		{"a max below min is min", time.Second, time.Millisecond, 3, 0,
			[]time.Duration{1, 1, 1}},
		{"a huge cap does not overflow", time.Hour, time.Duration(1<<63 - 1), 40, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := New(tc.min, tc.max)
			var got []time.Duration
			for i := 1; i <= tc.calls; i++ {
				if i == tc.resetAt {
					b.Reset()
				}
				d := b.Next()
				if d < tc.min || d > max(tc.max, tc.min) {
					t.Fatalf("call %d: Next = %v, outside %v..%v", i, d, tc.min, tc.max)
				}
				got = append(got, d)
			}
			if tc.want == nil {
				return
			}
			unit := time.Millisecond
			if tc.min >= time.Second {
				unit = time.Second
			}
			for i := range got {
				got[i] /= unit
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("delays in %v (-want +got):\n%s", unit, d)
			}
		})
	}
}

func TestSleep(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name    string
		ctx     context.Context
		d       time.Duration
		want    error
		atLeast time.Duration
	}{
		{"waits the delay", context.Background(), 20 * time.Millisecond, nil, 20 * time.Millisecond},
		{"zero returns at once", context.Background(), 0, nil, 0},
		{"a cancelled context returns its error at once", cancelled, time.Hour, context.Canceled, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			err := Sleep(tc.ctx, tc.d)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Errorf("Sleep = %v, want %v", err, tc.want)
			}
			if el := time.Since(start); el < tc.atLeast || el > tc.atLeast+5*time.Second {
				t.Errorf("Sleep took %v, want about %v", el, tc.atLeast)
			}
		})
	}
}

func TestWaitCancelledMidway(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	b := New(time.Hour, time.Hour)
	start := time.Now()
	if err := b.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait = %v, want context.DeadlineExceeded", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("Wait took %v after its context ended", el)
	}
	if d := b.Next(); d != time.Hour {
		t.Errorf("Next after one Wait = %v, want the capped %v", d, time.Hour)
	}
}
