package recorder

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReloadOnSIGHUPAndFileChange: the watcher reloads on SIGHUP and when
// an editor replaces the file (write elsewhere, rename over it).
func TestReloadOnSIGHUPAndFileChange(t *testing.T) {
	g := newReloadRig(t, reloadBase)
	r := g.r
	// Keep a stray SIGHUP (sent before the watcher listens) from killing
	// the test binary.
	guard := make(chan os.Signal, 1)
	signal.Notify(guard, syscall.SIGHUP)
	defer signal.Stop(guard)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.watchConfig(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("watchConfig: %v", err)
		}
	}()

	waitReload := func(what string, ok func(*ReloadStatus) bool, poke func()) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if poke != nil {
				poke()
			}
			if st := r.reload.last.Load(); st != nil && ok(st) {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("%s: no reload seen; last %+v", what, r.reload.last.Load())
	}
	waitReload("SIGHUP", func(st *ReloadStatus) bool { return st.Trigger == "SIGHUP" && st.OK }, func() {
		_ = syscall.Kill(os.Getpid(), syscall.SIGHUP)
	})

	// Let the SIGHUPs still queued be handled before the file changes.
	for i, n := 0, r.reload.ok.Load(); i < 20; i++ {
		time.Sleep(500 * time.Millisecond)
		m := r.reload.ok.Load()
		if m == n {
			break
		}
		n = m
	}

	// An editor's save: a new file renamed over the old one.
	tmp := filepath.Join(g.dir, ".arpbox.yaml.swp")
	if err := os.WriteFile(tmp, []byte(fmt.Sprintf(strings.Replace(reloadBase, "before: 5m", "before: 3m", 1), g.dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, g.path); err != nil {
		t.Fatal(err)
	}
	waitReload("file replaced", func(st *ReloadStatus) bool { return st.Trigger == "file" && st.OK }, nil)
	if b := r.config().Snapshots.Before; b != 3*time.Minute {
		t.Errorf("snapshots.before after the file changed = %v, want 3m", b)
	}
	if d := r.Status().ConfigDigest; d != g.digest(t) {
		t.Errorf("status digest %s, want the new file's %s", d, g.digest(t))
	}
	// An invalid save is refused once, not again on every event.
	if err := os.WriteFile(g.path, []byte("capture: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitReload("invalid file", func(st *ReloadStatus) bool { return st.Trigger == "file" && !st.OK }, nil)
	if !strings.Contains(r.reload.last.Load().Error, g.path+":") {
		t.Errorf("error %q does not name %s:line", r.reload.last.Load().Error, g.path)
	}
}
