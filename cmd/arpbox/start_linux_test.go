package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arpbox/arpbox/control"
)

// TestCouldNotStart: a recorder that fails while starting (here: a
// directory where its control socket goes, which it refuses to remove)
// says "arpbox could not start" with the cause and path, exits 1, and
// never says it stopped.
func TestCouldNotStart(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "arpbox.sock")
	if err := os.Mkdir(sock, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, fmt.Sprintf("data_dir: %s\ncapture:\n  interfaces: [lo]\ncontrol:\n  socket: %s\ntriggers: []\n", dir, sock))
	var out, errb bytes.Buffer
	code := dispatch([]string{"run", "-config", cfg}, &out, &errb)
	log := errb.String()
	if code != 1 || !strings.Contains(log, `msg="arpbox could not start" err="control socket `+sock+`: a directory is in the way`) || strings.Contains(log, "arpbox stopped") {
		t.Errorf("arpbox run = %d, want 1 and \"arpbox could not start\" naming %s:\n%s", code, sock, log)
	}
	if _, err := os.Stat(sock); err != nil {
		t.Errorf("the directory in the way was removed: %v", err)
	}
}

// TestSnapshotClientMessages: `arpbox snapshot` says it is waiting only
// once it has reached the daemon, and refuses a too-long reason in words.
func TestSnapshotClientMessages(t *testing.T) {
	none := filepath.Join(t.TempDir(), "none.sock")
	for _, tc := range []struct {
		name, reason, want string
	}{
		{"no daemon", "x", "(is arpbox running?)"},
		{"reason too long", strings.Repeat("r", 1025), "arpbox: reason too long (max 1024 bytes)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := dispatch([]string{"snapshot", "-socket", none, "-reason", tc.reason}, &out, &errb)
			if code != 1 || !strings.Contains(errb.String(), tc.want) || strings.Contains(errb.String(), "waiting") {
				t.Errorf("arpbox snapshot = %d\n%s\nwant 1, %q and no \"waiting\"", code, errb.String(), tc.want)
			}
		})
	}
}

// TestSnapshotSaysWaitingOnceConnected: with a daemon there, the client
// says it waits, then prints the bundle.
func TestSnapshotSaysWaitingOnceConnected(t *testing.T) {
	path := filepath.Join(t.TempDir(), "arpbox.sock")
	srv := control.NewServer(path, control.API{Snapshot: func(context.Context, string) (control.SnapshotReply, error) {
		return control.SnapshotReply{ID: "b", Dir: "/x/b"}, nil
	}}, nil)
	ln, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, ln) }()
	defer func() {
		cancel()
		<-done
	}()
	var out, errb bytes.Buffer
	code := dispatch([]string{"snapshot", "-socket", path, "-reason", "test"}, &out, &errb)
	if code != 0 || !strings.Contains(errb.String(), "waiting") || out.String() != "/x/b\n" {
		t.Errorf("arpbox snapshot = %d\nstdout %q\nstderr %s", code, out.String(), errb.String())
	}
}
