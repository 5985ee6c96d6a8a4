//go:build unix

package trigger

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/arpbox/arpbox/bundle"
)

func TestSignalSource(t *testing.T) {
	// Keep SIGUSR1 caught for the whole test, so a signal sent before Run
	// subscribes cannot kill the test binary.
	guard := make(chan os.Signal, 16)
	signal.Notify(guard, syscall.SIGUSR1)
	defer signal.Stop(guard)

	now := time.Date(2026, 11, 26, 1, 2, 3, 0, time.UTC)
	src := NewSignalSource()
	src.now = func() time.Time { return now }
	events := make(chan bundle.Event, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, func(e bundle.Event) { events <- e }) }()
	var got bundle.Event
	deadline := time.After(5 * time.Second)
wait:
	for {
		if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
			t.Fatal(err)
		}
		select {
		case got = <-events:
			break wait
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatal("no event for SIGUSR1")
		}
	}
	want := bundle.Event{Trigger: "signal", Check: "signal", Target: "SIGUSR1", Reason: "SIGUSR1 received", Time: now}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("event (-want +got):\n%s", diff)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
}
