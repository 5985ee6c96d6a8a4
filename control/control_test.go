//go:build !windows

package control

import (
	"context"
	"errors"
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
