package control

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func serve(t *testing.T, api API) (string, context.CancelFunc) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "run", "arpbox.sock")
	s := NewServer(path, api, nil)
	ln, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("socket %s left behind after Run: %v", path, err)
		}
	})
	return path, cancel
}

func TestSnapshotRoundTrip(t *testing.T) {
	var gotReason string
	path, _ := serve(t, API{
		Snapshot: func(ctx context.Context, reason string) (SnapshotReply, error) {
			gotReason = reason
			return SnapshotReply{ID: "20261126T010203Z-manual", Dir: "/x/20261126T010203Z-manual", Zip: "/x/20261126T010203Z-manual.zip"}, nil
		},
		Status:    func() any { return map[string]string{"state": "recording"} },
		Snapshots: func() (any, error) { return []string{"a", "b"}, nil },
	})
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o660 {
		t.Errorf("socket mode = %o, want 660", got)
	}
	c := NewClient(path)
	ctx := context.Background()
	rep, err := c.Snapshot(ctx, "link light blinking amber")
	if err != nil {
		t.Fatal(err)
	}
	want := SnapshotReply{ID: "20261126T010203Z-manual", Dir: "/x/20261126T010203Z-manual", Zip: "/x/20261126T010203Z-manual.zip"}
	if diff := cmp.Diff(want, rep); diff != "" {
		t.Errorf("Snapshot reply (-want +got):\n%s", diff)
	}
	if gotReason != "link light blinking amber" {
		t.Errorf("reason = %q", gotReason)
	}
	var st map[string]string
	if err := c.Status(ctx, &st); err != nil || st["state"] != "recording" {
		t.Errorf("Status = %v, %v", st, err)
	}
	var list []string
	if err := c.Snapshots(ctx, &list); err != nil || len(list) != 2 {
		t.Errorf("Snapshots = %v, %v", list, err)
	}
}

func TestErrorsReachTheClient(t *testing.T) {
	path, _ := serve(t, API{
		Snapshot: func(context.Context, string) (SnapshotReply, error) {
			return SnapshotReply{}, errors.New("in cooldown until 12:05:00")
		},
	})
	c := NewClient(path)
	_, err := c.Snapshot(context.Background(), "")
	if err == nil || !strings.Contains(err.Error(), "in cooldown until 12:05:00") {
		t.Errorf("Snapshot error = %v, want the daemon's reason", err)
	}
	var v any
	if err := c.Status(context.Background(), &v); err == nil || !strings.Contains(err.Error(), "not available") {
		t.Errorf("Status without a Status func = %v, want not available", err)
	}
}

func TestSecondDaemonRefused(t *testing.T) {
	path, _ := serve(t, API{})
	_, err := NewServer(path, API{}, nil).Listen()
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("second Listen on a live socket = %v, want ErrInUse", err)
	}
}

func TestStaleSocketReplaced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "arpbox.sock")
	if err := os.WriteFile(path, nil, 0o600); err != nil { // what a kill -9 leaves behind
		t.Fatal(err)
	}
	ln, err := NewServer(path, API{}, nil).Listen()
	if err != nil {
		t.Fatalf("Listen over a stale socket file: %v", err)
	}
	ln.Close()
}

func TestClientWithoutDaemon(t *testing.T) {
	c := NewClient(filepath.Join(t.TempDir(), "none.sock"))
	_, err := c.Snapshot(context.Background(), "x")
	if err == nil || !strings.Contains(err.Error(), "is arpbox running?") {
		t.Errorf("error = %v, want a hint that arpbox is not running", err)
	}
}

// TestOtherUsersRefused connects as user nobody, from a thread that drops
// its credentials (Linux credentials are per thread; the thread is thrown
// away afterwards).
func TestOtherUsersRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: needs root to connect as another user")
	}
	path, _ := serve(t, API{Status: func() any { return "ok" }})
	for d := filepath.Dir(path); d != "/"; d = filepath.Dir(d) {
		_ = os.Chmod(d, 0o755) // only the socket's mode and the peer check stand in the way
	}
	for _, mode := range []os.FileMode{0o660, 0o666} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		errc := make(chan error, 1)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
			if _, _, e := syscall.RawSyscall(syscall.SYS_SETRESGID, 65534, 65534, 65534); e != 0 {
				errc <- e
				return
			}
			if _, _, e := syscall.RawSyscall(syscall.SYS_SETRESUID, 65534, 65534, 65534); e != 0 {
				errc <- e
				return
			}
			c, err := net.Dial("unix", path)
			if err != nil {
				errc <- err
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(c, "GET /v1/status HTTP/1.0\r\n\r\n")
			b, _ := io.ReadAll(c)
			if len(b) > 0 {
				errc <- nil
				return
			}
			errc <- errors.New("closed by the daemon")
		}()
		if err := <-errc; err == nil {
			t.Errorf("socket mode %o: user nobody got an answer", mode)
		} else {
			t.Logf("socket mode %o: nobody refused: %v", mode, err)
		}
	}
}
