package snapshot

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/arpbox/arpbox/bundle"
	"github.com/arpbox/arpbox/ring"
)

// TestSecondInstanceOnSnapshotsDir: a second snapshotter on the same
// snapshots.dir is refused (before the fix it removed the first one's
// staging as "leftovers" and the first one published a 0-packet bundle
// with no error), and a bundle whose frozen segments vanished anyway is an
// error to the requester, not an empty bundle.
func TestSecondInstanceOnSnapshotsDir(t *testing.T) {
	ringDir := filepath.Join(t.TempDir(), "ring")
	r := newTestRing(t, ringDir, []string{"eth0"}, t0)
	for i := range 100 {
		r.packet(0, at(time.Duration(i)*100*time.Millisecond), uint32(i))
	}
	r.flush()
	snapDir := filepath.Join(t.TempDir(), "snapshots")
	cfg := testConfig(snapDir)
	cfg.Before, cfg.After = time.Minute, time.Second
	clk := &fakeClock{t: at(10 * time.Second)}
	release := make(chan struct{})
	sleep := func(ctx context.Context, d time.Duration) error {
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	first := New(cfg, ringDir, Options{Now: clk.Now, Sleep: sleep})
	if err := first.Open(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- first.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	ch, err := first.Request(bundle.Event{Trigger: "one", Check: "manual", Reason: "r", Time: at(10 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	staging, _ := filepath.Glob(filepath.Join(snapDir, ".freeze-*"))
	if len(staging) != 1 {
		t.Fatalf("staging dirs %v, want one", staging)
	}

	second := New(cfg, ringDir, Options{Now: clk.Now})
	if err := second.Open(); !errors.Is(err, ring.ErrLocked) || !strings.Contains(err.Error(), snapDir) {
		t.Fatalf("second Open = %v, want ErrLocked naming %s", err, snapDir)
	}
	if err := second.Run(context.Background()); !errors.Is(err, ring.ErrLocked) {
		t.Fatalf("second Run = %v, want ErrLocked", err)
	}
	if _, err := os.Stat(staging[0]); err != nil {
		t.Fatalf("the refused second instance touched the first one's staging: %v", err)
	}
	close(release)
	res := <-ch
	if res.Err != nil {
		t.Fatalf("first instance's snapshot: %v", res.Err)
	}
	pkts, _, _ := readCapture(t, filepath.Join(res.Dir, captureName))
	if len(pkts) != 100 {
		t.Errorf("bundle holds %d packets, want 100", len(pkts))
	}

	// Whatever removes the staging now (an operator, another program):
	// the requester gets an error, and no bundle is published.
	release2 := make(chan struct{})
	release = release2
	ch, err = first.Request(bundle.Event{Trigger: "two", Check: "manual", Reason: "r", Time: at(11 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	staging, _ = filepath.Glob(filepath.Join(snapDir, ".freeze-*"))
	for _, s := range staging {
		if err := os.RemoveAll(s); err != nil {
			if runtime.GOOS == "windows" {
				t.Skipf("skipping the removed-staging half on Windows: the frozen segments cannot be removed there while open: %v", err)
			}
			t.Fatal(err)
		}
	}
	close(release2)
	res = <-ch
	if !errors.Is(res.Err, ErrLostSegments) || res.Dir != "" {
		t.Fatalf("result = %+v, want ErrLostSegments and no bundle", res)
	}
	t.Logf("error to the requester: %v", res.Err)
}

// TestLeftoversAfterCrash: a restart packs the zip of a bundle published
// without one (killed between the two), keeps the frozen window of a
// snapshot interrupted by the crash, and removes partial bundles; every
// file of a bundle, and its zip, has one mode.
func TestLeftoversAfterCrash(t *testing.T) {
	ringDir := filepath.Join(t.TempDir(), "ring")
	r := newTestRing(t, ringDir, []string{"eth0"}, t0)
	for i := range 50 {
		r.packet(0, at(time.Duration(i)*100*time.Millisecond), uint32(i))
	}
	r.flush()
	snapDir := filepath.Join(t.TempDir(), "snapshots")
	cfg := testConfig(snapDir)
	clk := &fakeClock{t: at(10 * time.Second)}
	res := runSnapshot(t, cfg, ringDir, bundle.Event{Trigger: "x", Check: "manual", Reason: "r", Time: at(5 * time.Second)},
		Options{Now: clk.Now, Collectors: []Collector{looseCollector{}}})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	// One mode for every file.
	var modes []string
	ents, _ := os.ReadDir(res.Dir)
	for _, e := range append(ents, nil) {
		p := res.Zip
		if e != nil {
			p = filepath.Join(res.Dir, e.Name())
		}
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		modes = append(modes, filepath.Base(p)+" "+fi.Mode().Perm().String())
		if want := os.FileMode(fileMode &^ umask()); checkModes && fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", filepath.Base(p), fi.Mode().Perm(), want)
		}
	}
	t.Logf("modes: %v", modes)

	// The crash: the zip not written yet, a snapshot frozen but not
	// written, a partial bundle.
	if err := os.Remove(res.Zip); err != nil {
		t.Fatal(err)
	}
	frozen := filepath.Join(snapDir, ".freeze-20261126T010001Z-y")
	os.Mkdir(frozen, 0o750)
	os.WriteFile(filepath.Join(frozen, "00000000000000000000.pcapng"), []byte("frozen"), 0o640)
	partial := filepath.Join(snapDir, ".tmp-20261126T010002Z-z")
	os.Mkdir(partial, 0o750)

	_, stop := startSnapshotter(t, cfg, ringDir, Options{Now: clk.Now})
	deadline := time.Now().Add(10 * time.Second)
	for !exists(res.Zip) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	checkZip(t, res.Dir, res.Zip)
	if !exists(filepath.Join(snapDir, failedPrefix+"20261126T010001Z-y", "00000000000000000000.pcapng")) || exists(frozen) {
		t.Errorf("the crashed snapshot's frozen window was not kept as %s", failedPrefix+"…")
	}
	if exists(partial) {
		t.Errorf("partial bundle %s not removed", partial)
	}
}

// looseCollector writes its file world-readable, as the report writer does.
type looseCollector struct{}

func (looseCollector) Name() string { return "loose" }
func (looseCollector) Collect(_ context.Context, b *Bundle) error {
	return os.WriteFile(filepath.Join(b.Dir, "loose.txt"), []byte("x"), 0o644)
}
