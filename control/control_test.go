//go:build !windows

package control

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

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

// TestWhatIsInTheWay: Listen replaces only a stale socket (one nobody
// answers on, as a kill -9 leaves); anything else at the path is refused
// with an error naming the path and what is there, and left in place.
func TestWhatIsInTheWay(t *testing.T) {
	live, _ := serve(t, API{})
	for _, tc := range []struct {
		name    string
		make    func(path string) error
		wantErr string // "" = Listen succeeds
	}{
		{"nothing", func(string) error { return nil }, ""},
		{"stale socket", func(p string) error {
			ln, err := net.Listen("unix", p)
			if err != nil {
				return err
			}
			ln.(*net.UnixListener).SetUnlinkOnClose(false)
			return ln.Close()
		}, ""},
		{"regular file", func(p string) error { return os.WriteFile(p, []byte("keep me"), 0o600) }, "a regular file is in the way"},
		{"empty directory", func(p string) error { return os.Mkdir(p, 0o700) }, "a directory is in the way"},
		{"symlink to a live socket", func(p string) error { return os.Symlink(live, p) }, "a symlink is in the way"},
		{"live socket", func(p string) error { return os.Link(live, p) }, ErrInUse.Error()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "arpbox.sock")
			if err := tc.make(path); err != nil {
				t.Fatal(err)
			}
			before, _ := os.Lstat(path)
			ln, err := NewServer(path, API{}, nil).Listen()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Listen = %v", err)
				}
				ln.Close()
				return
			}
			if err == nil {
				ln.Close()
				t.Fatalf("Listen succeeded, want %q", tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), path) {
				t.Errorf("Listen = %v, want %q and the path", err, tc.wantErr)
			}
			after, err := os.Lstat(path)
			if err != nil || !os.SameFile(before, after) {
				t.Errorf("what was in the way was removed or replaced: %v", err)
			}
		})
	}
}

// TestRemovesOnlyItsOwnSocket: at exit the server removes its socket, but
// not a file that replaced it meanwhile.
func TestRemovesOnlyItsOwnSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "arpbox.sock")
	s := NewServer(path, API{}, nil)
	ln, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("someone else's"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Run(ctx, ln); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "someone else's" {
		t.Errorf("the file that replaced the socket: %q, %v", b, err)
	}
}

// TestReasonTooLong: the client refuses a reason over MaxReason before
// sending; the server refuses one from any other client with the same
// words.
func TestReasonTooLong(t *testing.T) {
	path, _ := serve(t, API{Snapshot: func(context.Context, string) (SnapshotReply, error) { return SnapshotReply{ID: "x"}, nil }})
	long := strings.Repeat("a", MaxReason+1)
	if _, err := NewClient(path).Snapshot(context.Background(), long); !errors.Is(err, ErrReasonTooLong) {
		t.Errorf("client: %v, want %v", err, ErrReasonTooLong)
	}
	if _, err := NewClient(path).Snapshot(context.Background(), strings.Repeat("a", MaxReason)); err != nil {
		t.Errorf("a reason of exactly MaxReason bytes: %v", err)
	}
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}}}
	resp, err := c.Post("http://arpbox/v1/snapshot", "application/json", strings.NewReader(`{"reason":"`+long+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "reason too long (max 1024 bytes)") {
		t.Errorf("server: %d %s", resp.StatusCode, body)
	}
}

func TestClientWithoutDaemon(t *testing.T) {
	c := NewClient(filepath.Join(t.TempDir(), "none.sock"))
	_, err := c.Snapshot(context.Background(), "x")
	if err == nil || !strings.Contains(err.Error(), "is arpbox running?") {
		t.Errorf("error = %v, want a hint that arpbox is not running", err)
	}
}

// TestSocketServesTheWholeAPI: the unix socket serves what the HTTP
// listener does (without a token: the socket's permissions guard it).
func TestSocketServesTheWholeAPI(t *testing.T) {
	api := testAPI(t)
	zip := filepath.Join(t.TempDir(), "20261126T010203Z-manual.zip")
	if err := os.WriteFile(zip, []byte("PK\x05\x06"+strings.Repeat("\x00", 18)), 0o600); err != nil {
		t.Fatal(err)
	}
	api.Bundle = func(id string) (string, error) { return zip, nil }
	path, _ := serve(t, api)
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}}}
	for _, p := range []string{"/healthz", "/metrics", "/v1/snapshots/20261126T010203Z-manual.zip"} {
		resp, body := get(t, c, "http://arpbox"+p, "")
		if resp.StatusCode != http.StatusOK || len(body) == 0 {
			t.Errorf("GET %s over the socket = %d %q", p, resp.StatusCode, body)
		}
	}
	resp, err := c.Post("http://arpbox/v1/snapshot", "application/json", strings.NewReader(strings.Repeat(" ", 10<<20)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("10 MB body over the socket: %d, want 413", resp.StatusCode)
	}
}
