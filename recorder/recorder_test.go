package recorder

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arpbox/arpbox/analyze/analyzetest"
	"github.com/arpbox/arpbox/configs"
)

func parseConfig(t *testing.T, text string) *configs.Config {
	t.Helper()
	cfg, err := configs.Parse("test.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestReplay: a replaying recorder records a file's ARP into the ring
// through the same write path as live capture, calls Ready once, and stops
// by itself at the end of the file with the segment sealed.
func TestReplay(t *testing.T) {
	gw, be := analyzetest.MAC("02:00:00:00:00:01"), analyzetest.MAC("02:00:00:00:00:05")
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	var frames []analyzetest.Frame
	for i := range 40 {
		ts := t0.Add(time.Duration(i) * 100 * time.Millisecond)
		frames = append(frames,
			analyzetest.Frame{Time: ts, Data: analyzetest.Request(gw, "10.0.0.1", "10.0.0.5")},
			analyzetest.Frame{Time: ts.Add(time.Millisecond), Data: analyzetest.Ethernet(be, gw, 0x0800, make([]byte, 46))})
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pcapng")
	var buf bytes.Buffer
	if err := analyzetest.WritePcapNG(&buf, frames); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := parseConfig(t, fmt.Sprintf("ring:\n  dir: %s/ring\ncontrol:\n  socket: %s/arpbox.sock\n", dir, dir))
	var ready atomic.Int32
	rec := New(cfg, nil, Options{Version: "test", Replay: in, Ready: func() { ready.Add(1) }})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := rec.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if n := ready.Load(); n != 1 {
		t.Errorf("Ready called %d times, want once", n)
	}
	sealed, _ := filepath.Glob(filepath.Join(dir, "ring", "*.pcapng"))
	parts, _ := filepath.Glob(filepath.Join(dir, "ring", "*.part"))
	if len(sealed) != 1 || len(parts) != 0 {
		t.Fatalf("ring after replay: sealed %v, parts %v", sealed, parts)
	}
	if st := rec.Status(); st.Ring.PacketsWritten != 40 {
		t.Errorf("ring stats say %d packets, want the 40 ARP frames of the 80", st.Ring.PacketsWritten)
	}
	if _, err := exec.LookPath("capinfos"); err != nil {
		t.Skip("capinfos not found: the segment's count was checked by the ring's stats only")
	}
	out, err := exec.Command("capinfos", "-c", "-M", sealed[0]).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Number of packets:   40") {
		t.Errorf("capinfos %s: %v\n%s", sealed[0], err, out)
	}
}

// TestStartError: a recorder that cannot open its ring says it could not
// start, records nothing and never calls Ready.
func TestStartError(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := parseConfig(t, fmt.Sprintf("ring:\n  dir: %s/ring\ncontrol:\n  socket: %s/arpbox.sock\n", blocker, dir))
	rec := New(cfg, nil, Options{Replay: filepath.Join("..", "analyze", "testdata", "unanswered.pcapng"),
		Ready: func() { t.Error("Ready called by a recorder that did not start") }})
	err := rec.Run(context.Background())
	var se *StartError
	if !errors.As(err, &se) {
		t.Fatalf("Run = %v, want a *StartError", err)
	}
}

// TestHelperRestarts: a failing helper is restarted with growing waits
// until it succeeds; cancellation stops it during a wait.
func TestHelperRestarts(t *testing.T) {
	var calls []time.Time
	fn := func(ctx context.Context) error {
		calls = append(calls, time.Now())
		if len(calls) < 4 {
			return errors.New("broken")
		}
		return nil
	}
	runHelper(context.Background(), discard(), "t", fn, 10*time.Millisecond, 40*time.Millisecond)
	if len(calls) != 4 {
		t.Fatalf("fn ran %d times, want 4 (3 failures, then success)", len(calls))
	}
	for i, want := range []time.Duration{10, 20, 40} {
		if gap := calls[i+1].Sub(calls[i]); gap < want*time.Millisecond {
			t.Errorf("wait before restart %d = %v, want at least %v", i+1, gap, want*time.Millisecond)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		runHelper(ctx, discard(), "t", func(context.Context) error { n++; return errors.New("broken") }, time.Hour, time.Hour)
	}()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("runHelper did not stop on cancellation during its backoff")
	}
	if n != 1 {
		t.Errorf("fn ran %d times before cancellation, want 1", n)
	}
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestAliveSeesStuckWriter: a writer holding the ring's lock (a write
// that never returns) makes alive fail; once released, it passes.
func TestAliveSeesStuckWriter(t *testing.T) {
	o := newRingOwner(discard(), nil, 0, nil)
	if err := o.alive(50 * time.Millisecond); err != nil {
		t.Fatalf("idle ring: %v", err)
	}
	o.mu.Lock()
	err := o.alive(50 * time.Millisecond)
	o.mu.Unlock()
	if err == nil || !strings.Contains(err.Error(), "held its lock") {
		t.Fatalf("stuck ring: alive = %v, want an error saying the lock is held", err)
	}
	rec := New(parseConfig(t, fmt.Sprintf("ring:\n  dir: %s\n", filepath.ToSlash(filepath.Join(t.TempDir(), "never-opened")))), nil, Options{})
	if err := rec.Alive(); err != nil {
		t.Errorf("a recorder still starting is not alive: %v", err)
	}
	rec.stopped.Store(true)
	if err := rec.Alive(); err == nil {
		t.Error("a recorder whose Run returned says it is alive")
	}
}

// TestServeAgain: a restarted server helper gets a fresh listener, since
// the failed server closed the first one.
func TestServeAgain(t *testing.T) {
	first, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var served []net.Listener
	relistens := 0
	fn := serveAgain(first, func() (net.Listener, error) {
		relistens++
		return net.Listen("tcp", "127.0.0.1:0")
	}, func(_ context.Context, l net.Listener) error {
		served = append(served, l)
		l.Close() // as http.Server.Serve does when it fails
		return errors.New("accept failed")
	})
	for range 3 {
		_ = fn(context.Background())
	}
	if len(served) != 3 || served[0] != first || served[1] == first || served[2] == served[1] || relistens != 2 {
		t.Errorf("served %d listeners (first reused: %v), relistened %d times; want the first, then 2 fresh ones", len(served), len(served) > 1 && served[1] == first, relistens)
	}
}
