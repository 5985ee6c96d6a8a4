package service

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// listen makes a notify socket like systemd's and points the environment
// at it; it returns the datagrams received, as they come.
func listen(t *testing.T, watchdogUsec string) <-chan string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	t.Setenv("WATCHDOG_USEC", watchdogUsec)
	t.Setenv("WATCHDOG_PID", "")
	msgs := make(chan string, 100)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			msgs <- string(buf[:n])
		}
	}()
	return msgs
}

func next(t *testing.T, msgs <-chan string) string {
	t.Helper()
	select {
	case m := <-msgs:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no datagram on the notify socket within 5 s")
		return ""
	}
}

func TestReadyStatusStopping(t *testing.T) {
	msgs := listen(t, "")
	n, err := FromEnv(nil)
	if err != nil || n == nil {
		t.Fatalf("FromEnv = %v, %v; want a notifier", n, err)
	}
	n.Ready("recording arp on eth1")
	if m := next(t, msgs); m != "READY=1\nSTATUS=recording arp on eth1" {
		t.Errorf("ready sent %q", m)
	}
	n.Stopping()
	if m := next(t, msgs); m != "STOPPING=1" {
		t.Errorf("stopping sent %q", m)
	}
}

// TestWatchdogFollowsAlive: pings come at half the timeout while alive is
// nil, stop while it fails (so systemd restarts arpbox), and resume.
func TestWatchdogFollowsAlive(t *testing.T) {
	msgs := listen(t, "200000") // 200 ms: pings every 100 ms
	n, err := FromEnv(nil)
	if err != nil {
		t.Fatal(err)
	}
	var broken atomic.Bool
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.Watchdog(ctx, func() error {
			if broken.Load() {
				return errors.New("ring writer stuck")
			}
			return nil
		})
	}()
	defer func() { cancel(); <-done }()
	for range 3 {
		if m := next(t, msgs); m != "WATCHDOG=1" {
			t.Fatalf("got %q, want WATCHDOG=1", m)
		}
	}
	broken.Store(true)
	// At most one ping already on its way; then a status line, then silence.
	deadline := time.After(600 * time.Millisecond)
	sawStatus := false
	for quiet := false; !quiet; {
		select {
		case m := <-msgs:
			if strings.HasPrefix(m, "STATUS=not alive: ring writer stuck") {
				sawStatus = true
				continue
			}
			if m == "WATCHDOG=1" && !sawStatus {
				continue
			}
			t.Fatalf("while not alive, got %q", m)
		case <-deadline:
			quiet = true
		}
	}
	if !sawStatus {
		t.Error("no STATUS line saying why the watchdog stopped")
	}
	broken.Store(false)
	if m := next(t, msgs); m != "WATCHDOG=1" {
		t.Errorf("after recovery got %q, want WATCHDOG=1", m)
	}
}

func TestNoSocket(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	n, err := FromEnv(nil)
	if n != nil || err != nil {
		t.Fatalf("FromEnv without NOTIFY_SOCKET = %v, %v; want nil, nil", n, err)
	}
	n.Ready("x") // a nil notifier is a no-op
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := n.Watchdog(ctx, func() error { return nil }); err != nil {
		t.Fatal(err)
	}
}

func TestBadWatchdogUsec(t *testing.T) {
	listen(t, "soon")
	if _, err := FromEnv(nil); err == nil || !strings.Contains(err.Error(), "WATCHDOG_USEC") {
		t.Fatalf("FromEnv with WATCHDOG_USEC=soon: %v, want an error naming it", err)
	}
}

// TestSupervise: the watchdog is pinged while run runs, STOPPING=1 comes
// once it returns, the pings stop, and run's error is returned.
func TestSupervise(t *testing.T) {
	msgs := listen(t, "200000") // pings every 100 ms
	n, err := FromEnv(nil)
	if err != nil {
		t.Fatal(err)
	}
	failed := errors.New("capture failed")
	err = n.Supervise(context.Background(), func(ctx context.Context) error {
		for range 2 {
			if m := next(t, msgs); m != "WATCHDOG=1" {
				t.Errorf("while running got %q, want WATCHDOG=1", m)
			}
		}
		return failed
	}, func() error { return nil })
	if err != failed {
		t.Errorf("Supervise = %v, want run's error %v", err, failed)
	}
	// A ping sent before run returned may still be queued; then STOPPING=1.
	m := next(t, msgs)
	for i := 0; m == "WATCHDOG=1" && i < 3; i++ {
		m = next(t, msgs)
	}
	if m != "STOPPING=1" {
		t.Errorf("after run returned got %q, want STOPPING=1", m)
	}
	// At most one ping may race STOPPING=1 (sent as the watchdog is
	// stopped); then silence for three ping intervals.
	late := 0
	quiet := time.After(300 * time.Millisecond)
	for done := false; !done; {
		select {
		case m := <-msgs:
			if late++; m != "WATCHDOG=1" || late > 1 {
				t.Fatalf("after STOPPING=1 got %q: the watchdog did not stop", m)
			}
		case <-quiet:
			done = true
		}
	}
}

// TestSuperviseNil: without a manager Supervise just runs run.
func TestSuperviseNil(t *testing.T) {
	var n *Notifier
	ran := false
	if err := n.Supervise(context.Background(), func(context.Context) error { ran = true; return nil }, nil); err != nil || !ran {
		t.Fatalf("nil Supervise = %v, ran %v; want nil, true", err, ran)
	}
}
