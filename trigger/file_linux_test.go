package trigger

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/arpbox/arpbox/bundle"
)

// syncBuffer is a log sink written by FileSource's goroutine and read by
// the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestFileSourceFIFO: a FIFO at the trigger path, there when consume looks
// (as when it is swapped in between the event and the open), is refused
// without blocking, and Run still stops on cancel.
func TestFileSourceFIFO(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "trigger")
	if err := unix.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	src := NewFileSource(path, nil)
	done := make(chan bool, 1)
	go func() {
		_, ok := src.consume()
		done <- ok
	}()
	select {
	case ok := <-done:
		if ok {
			t.Error("a FIFO fired")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("consume blocked on a FIFO")
	}

	// Run with the FIFO re-created under it: cancel stops it promptly.
	os.Remove(path)
	src.settle = time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- src.Run(ctx, func(bundle.Event) { t.Error("fired") }) }()
	time.Sleep(100 * time.Millisecond)
	if err := unix.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop within 5 s of cancel with a FIFO at the trigger path")
	}
}

// TestFileSourceRefusesForeignFiles: a trigger file owned by another user,
// or a hard link to a file elsewhere, is removed without firing and without
// its content reaching the log.
func TestFileSourceRefusesForeignFiles(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: needs root to make a file owned by another user")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "trigger")
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("TOPSECRET-hardlink"), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	src := NewFileSource(path, slog.New(slog.NewTextHandler(&logs, nil)))
	for _, tc := range []struct {
		name string
		make func() error
	}{
		{"owned by nobody", func() error {
			if err := os.WriteFile(path, []byte("TOPSECRET-nobody"), 0o644); err != nil {
				return err
			}
			return os.Chown(path, 65534, 65534)
		}},
		{"hard link", func() error { return os.Link(secret, path) }},
	} {
		if err := tc.make(); err != nil {
			t.Fatal(err)
		}
		if ev, ok := src.consume(); ok {
			t.Errorf("%s: fired %+v", tc.name, ev)
		}
		if _, err := os.Lstat(path); err == nil {
			t.Errorf("%s: refused file left in place", tc.name)
			os.Remove(path)
		}
	}
	if strings.Contains(logs.String(), "TOPSECRET") {
		t.Errorf("a refused file's content reached the log:\n%s", logs.String())
	}
	t.Logf("log:\n%s", logs.String())
	if b, err := os.ReadFile(secret); err != nil || string(b) != "TOPSECRET-hardlink" {
		t.Errorf("the hard link's target was changed: %q, %v", b, err)
	}
}

// swapperEnv makes the test binary the unprivileged swapper of
// TestFileSourceSymlinkRace.
const swapperEnv = "ARPBOX_TRIGGER_SWAPPER"

// TestFileSourceSymlinkRace is issue 10's attack, live: an unprivileged
// user (nobody) who can write the trigger directory keeps putting a regular
// file of their own at the trigger path and exchanging it (renameat2
// RENAME_EXCHANGE) with a symlink to a root-only file, while arpbox
// consumes. The root-only file's content must never reach an event or the
// log.
func TestFileSourceSymlinkRace(t *testing.T) {
	if dir := os.Getenv(swapperEnv); dir != "" {
		swap(dir)
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("skipping: needs root to run the attacker as user nobody")
	}
	const secretText = "ROOT-ONLY-SECRET"
	secret := filepath.Join(t.TempDir(), "shadow")
	if err := os.WriteFile(secret, []byte(secretText), 0o600); err != nil {
		t.Fatal(err)
	}
	base := t.TempDir()
	if err := os.Chmod(base, 0o755); err != nil { // so nobody reaches the trigger dir
		t.Fatal(err)
	}
	dir := filepath.Join(base, "run")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	// t.TempDir's parent is 0700: let others search it (never the
	// system's temporary directory itself).
	top := filepath.Clean(os.TempDir())
	for d := filepath.Dir(base); strings.HasPrefix(d, top+string(filepath.Separator)); d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, st.Mode().Perm()|0o011); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(base, "swapper.test")
	self, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "target"), []byte(secret), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chown(filepath.Join(dir, "target"), 65534, 65534)

	path := filepath.Join(dir, "trigger")
	var logs syncBuffer
	src := NewFileSource(path, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	src.settle = 0 // consume as soon as the event comes: the widest race
	var (
		mu     sync.Mutex
		events []bundle.Event
	)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		errc <- src.Run(ctx, func(e bundle.Event) {
			mu.Lock()
			events = append(events, e)
			mu.Unlock()
		})
	}()
	time.Sleep(200 * time.Millisecond) // the watch is in place

	cmd := exec.Command(bin, "-test.run=^TestFileSourceSymlinkRace$")
	cmd.Env = append(os.Environ(), swapperEnv+"="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	time.Sleep(300 * time.Millisecond)
	cancel()
	if rerr := <-errc; rerr != nil {
		t.Errorf("Run = %v", rerr)
	}
	if err != nil {
		t.Fatalf("swapper: %v\n%s", err, out)
	}
	t.Logf("swapper: %s", strings.TrimSpace(string(out)))
	if !strings.Contains(string(out), "SWAPS") {
		t.Fatalf("the swapper did not run:\n%s", out)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, e := range events {
		if strings.Contains(e.Reason, secretText) {
			t.Errorf("the root-only file reached an event: %+v", e)
		}
	}
	if l := logs.String(); strings.Contains(l, secretText) {
		t.Errorf("the root-only file reached the log")
	}
	if n := strings.Count(logs.String(), "refused"); n == 0 {
		t.Errorf("nothing was refused: the race never ran\n%s", logs.String())
	} else {
		t.Logf("%d events, %d refusals", len(events), n)
	}
}

// swap is the attacker: for about 3 s it puts a file of its own at the
// trigger path and exchanges it with a symlink to the secret (named in the
// file "target"), over and over.
func swap(dir string) {
	target, err := os.ReadFile(filepath.Join(dir, "target"))
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	path := filepath.Join(dir, "trigger")
	tmp := filepath.Join(dir, ".file")
	link := filepath.Join(dir, ".link")
	n := 0
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); {
		_ = os.WriteFile(tmp, []byte("harmless"), 0o644)
		_ = os.Rename(tmp, path)
		_ = os.Remove(link)
		if err := os.Symlink(string(target), link); err != nil {
			fmt.Println("ERROR", err)
			os.Exit(1)
		}
		for range 20 {
			if unix.Renameat2(unix.AT_FDCWD, link, unix.AT_FDCWD, path, unix.RENAME_EXCHANGE) == nil {
				n++
			}
		}
	}
	fmt.Println("SWAPS", n)
}
