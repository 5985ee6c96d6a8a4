package recorder

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/arpbox/arpbox/capture"
	"github.com/arpbox/arpbox/ring"
)

// failSource fails at once.
type failSource struct{ fakeSource }

func (failSource) Run(context.Context, func(*capture.Batch)) error {
	return errors.New("no permission")
}

// TestCapturesReplace: replacing every slot (all stopped for a moment)
// does not end run; run ends when ctx is cancelled, or when a slot fails
// (its error, naming it, returned), or when the last slot ends by itself.
func TestCapturesReplace(t *testing.T) {
	c := newCaptures()
	a := c.newSlot("a", fakeSource{}, nil, ring.Interface{Name: "a"})
	c.slots = []*slot{a}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.run(ctx, func(b *capture.Batch) { b.Release() }) }()
	waitRunning(t, c, 1)

	b := c.newSlot("b", fakeSource{}, nil, ring.Interface{Name: "b"})
	var swapped int
	if err := c.replace(ctx, []*slot{b}, func(nextID int) error { swapped = nextID; return nil }); err != nil {
		t.Fatalf("replace a by b: %v", err)
	}
	if swapped != 2 {
		t.Errorf("swap got next id %d, want 2", swapped)
	}
	select {
	case <-a.done:
	default:
		t.Error("a still runs after it was replaced")
	}
	select {
	case err := <-done:
		t.Fatalf("run returned %v while b replaced a", err)
	case <-time.After(100 * time.Millisecond):
	}
	if got := c.list(); len(got) != 1 || got[0] != b {
		t.Fatalf("slots after replace: %v", got)
	}

	// A swap that fails starts nothing new.
	x := c.newSlot("x", fakeSource{}, nil, ring.Interface{Name: "x"})
	if err := c.replace(ctx, []*slot{b, x}, func(int) error { return errors.New("ring says no") }); err == nil {
		t.Error("replace with a failing swap succeeded")
	}
	if got := c.list(); len(got) != 1 || got[0] != b {
		t.Errorf("slots after a failed swap: %v, want b alone", got)
	}

	// A slot that fails stops the others and ends run with its error.
	f := c.newSlot("broken", failSource{}, nil, ring.Interface{Name: "broken"})
	if err := c.replace(ctx, []*slot{b, f}, func(int) error { return nil }); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "capture broken: no permission") {
			t.Errorf("run = %v, want the broken slot's error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not end after a slot failed")
	}
	if err := c.replace(ctx, []*slot{b}, func(int) error { return nil }); err == nil {
		t.Error("replace after run ended succeeded")
	}
}

func waitRunning(t *testing.T, c *captures, n int) {
	t.Helper()
	for range 500 {
		c.mu.Lock()
		r := c.running
		c.mu.Unlock()
		if r == n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%d slots never ran", n)
}
