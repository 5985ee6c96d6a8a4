package snapshot

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arpbox/arpbox/bundle"
	"github.com/arpbox/arpbox/internal/nstest"
	"github.com/arpbox/arpbox/internal/pcapng"
	"github.com/arpbox/arpbox/ring"
)

// mountTmpfs mounts a tmpfs of the given size (e.g. "8m") on a new
// directory, unmounted when the test ends.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	nstest.RequireRoot(t, "mount", "umount")
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("skipping: cannot mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// segmentIDs returns the frame ids (and count) of every packet stamped at
// or before until in the pcapng files given.
func segmentIDs(t *testing.T, paths []string, until time.Time) map[uint32]bool {
	t.Helper()
	ids := map[uint32]bool{}
	for _, p := range paths {
		r, err := pcapng.Open(p)
		if errors.Is(err, fs.ErrNotExist) && strings.HasSuffix(p, ".part") {
			// sealed meanwhile: read it under its sealed name
			m, _ := filepath.Glob(strings.TrimSuffix(p, ".pcapng.part") + "-*.pcapng")
			if len(m) == 1 {
				r, err = pcapng.Open(m[0])
			}
		}
		if err != nil {
			t.Fatalf("open %s: %v", p, err)
		}
		var pk pcapng.Packet
		for {
			err := r.Next(&pk)
			if errors.Is(err, io.EOF) || errors.Is(err, pcapng.ErrTruncated) {
				break
			}
			if err != nil {
				t.Fatalf("read %s: %v", p, err)
			}
			if pk.Timestamp <= until.UnixNano() {
				ids[frameID(pk.Data)] = true
			}
		}
		r.Close()
	}
	return ids
}

func ringFiles(t *testing.T, dir string) []string {
	t.Helper()
	segs, err := ring.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range segs {
		out = append(out, s.Path)
	}
	return out
}

// TestSnapshotOnFullDisk runs a ring whose max_size is larger than its
// file system (a small tmpfs shared with snapshots.dir) under steady
// traffic and takes a snapshot. Before the fix, the ring's pruning deleted
// segment after segment "for room" (the frozen links kept the blocks), the
// bundle then failed with ENOSPC and its staging was removed: the window
// was in neither. Now the ring is never emptied, and the window's frames
// end up in the bundle or, when it cannot fit, in the kept staging, with
// an error that says so; once that is released (the ring needs the room),
// recording goes on.
func TestSnapshotOnFullDisk(t *testing.T) {
	for _, tc := range []struct {
		name    string
		minFree int64
		fits    bool
	}{
		{name: "no min_free: the bundle cannot fit", fits: false},
		{name: "min_free keeps room: the bundle is written", minFree: 4 << 20, fits: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsDir := mountTmpfs(t, "8m")
			ringDir, snapDir := filepath.Join(fsDir, "ring"), filepath.Join(fsDir, "snapshots")
			clk := &fakeClock{t: t0}
			var snaps *Snapshotter
			w := ring.NewWriter(ring.Config{Dir: ringDir, SegmentBytes: 256 << 10, MaxBytes: 1 << 30, MinFreeBytes: tc.minFree},
				[]ring.Interface{{Name: "eth0", Filter: "arp"}},
				ring.Options{Now: clk.Now, Reclaim: func() bool { return snaps.ReleaseHeld() }})
			if err := w.Open(); err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			id := uint32(0)
			// traffic writes n frames, 1000 per second, ticking every 50.
			traffic := func(n int) {
				for range n {
					id++
					f := arpFrame(0, id)
					if err := w.WritePacket(0, clk.Now(), len(f), f); err != nil {
						t.Fatal(err)
					}
					if id%50 == 0 {
						clk.Set(clk.Now().Add(50 * time.Millisecond))
						if err := w.Tick(clk.Now()); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
			traffic(150000) // ~12MB through 8MB: the ring fills the disk and prunes
			if st := w.Stats(); st.SegmentsPruned == 0 {
				t.Fatalf("the ring never pruned: %+v", st)
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}

			cfg := testConfig(snapDir)
			cfg.Before, cfg.After = time.Hour, 0
			release := make(chan struct{})
			var logs lockedBuffer
			snaps = New(cfg, ringDir, Options{Now: clk.Now, Hostname: "h", Version: "test", Logger: slog.New(slog.NewTextHandler(&logs, nil)),
				Sleep: func(ctx context.Context, d time.Duration) error {
					select {
					case <-release:
						return nil
					case <-ctx.Done():
						return ctx.Err()
					}
				}})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- snaps.Run(ctx) }()
			defer func() { cancel(); <-done }()

			T := clk.Now()
			want := segmentIDs(t, ringFiles(t, ringDir), T)
			ch, err := snaps.Request(bundle.Event{Trigger: "disk", Check: "manual", Reason: "test", Time: T})
			if err != nil {
				t.Fatal(err)
			}
			// Said at once, not after the after-window.
			if early := strings.Contains(logs.String(), "will not fit"); early != !tc.fits {
				t.Errorf("early warning logged: %v, want %v:\n%s", early, !tc.fits, logs.String())
			}
			// Traffic goes on while the bundle waits: the ring needs room
			// but every segment of the window is frozen.
			before := w.Stats()
			traffic(30000)
			mid := w.Stats()
			if got := segmentIDs(t, ringFiles(t, ringDir), T); len(got) < len(want) {
				t.Errorf("the ring lost the window while frozen: %d of %d frames left in it (stats %+v)", len(got), len(want), mid)
			}
			if mid.Segments < 2 {
				t.Errorf("the ring was emptied: %+v", mid)
			}
			t.Logf("window: %d frames; ring during the snapshot: %+v (pruned %d)", len(want), mid, mid.SegmentsPruned-before.SegmentsPruned)
			close(release)
			var res Result
			select {
			case res = <-ch:
			case <-time.After(60 * time.Second):
				t.Fatal("no result")
			}
			if tc.fits {
				if res.Err != nil {
					t.Fatalf("snapshot failed: %v", res.Err)
				}
				pkts, _, _ := readCapture(t, filepath.Join(res.Dir, captureName))
				got := map[uint32]bool{}
				for _, p := range pkts {
					got[p.ID] = true
				}
				for id := range want {
					if !got[id] {
						t.Fatalf("frame %d of the window is not in the bundle (%d of %d there)", id, len(got), len(want))
					}
				}
				return
			}
			if !errors.Is(res.Err, ErrNoSpace) || !strings.Contains(res.Err.Error(), "kept in "+filepath.Join(snapDir, failedPrefix)) {
				t.Fatalf("result error = %v, want ErrNoSpace naming where the frozen segments are kept", res.Err)
			}
			t.Logf("error to the requester: %v", res.Err)
			kept, _ := filepath.Glob(filepath.Join(snapDir, failedPrefix+"*", "*.pcapng"))
			got := segmentIDs(t, kept, T)
			for id := range want {
				if !got[id] {
					t.Fatalf("frame %d of the window is not in the kept staging (%d of %d there)", id, len(got), len(want))
				}
			}
			// More traffic: the ring needs the room, the kept window is
			// released, recording goes on.
			traffic(30000)
			after := w.Stats()
			if after.PacketsWritten-mid.PacketsWritten < 20000 {
				t.Errorf("recording did not resume after the failed snapshot: %+v", after)
			}
			if left, _ := filepath.Glob(filepath.Join(snapDir, failedPrefix+"*")); len(left) != 0 {
				t.Errorf("kept window not released for the ring: %v", left)
			}
		})
	}
}

// fillCollector fills the file system from inside the bundle (as a
// collector with a large file might) and says nothing of it.
type fillCollector struct{}

func (fillCollector) Name() string { return "filler" }
func (fillCollector) Collect(_ context.Context, b *Bundle) error {
	_ = b.WriteFile("filler.bin", func(w io.Writer) error {
		chunk := make([]byte, 64<<10)
		for range 1 << 14 {
			if _, err := w.Write(chunk); err != nil {
				return err
			}
		}
		return nil
	})
	return nil
}

// TestDiskFullWhileWriting: the space check passes, then the file system
// fills while the bundle is written. The requester gets an error that
// says the disk is full and where the window's frozen segments are kept;
// they are there, whole.
func TestDiskFullWhileWriting(t *testing.T) {
	fsDir := mountTmpfs(t, "4m")
	ringDir, snapDir := filepath.Join(fsDir, "ring"), filepath.Join(fsDir, "snapshots")
	r := newTestRing(t, ringDir, []string{"eth0"}, t0)
	for i := range 1000 {
		r.packet(0, at(time.Duration(i)*10*time.Millisecond), uint32(i))
	}
	r.flush()
	cfg := testConfig(snapDir)
	res := runSnapshot(t, cfg, ringDir, bundle.Event{Trigger: "full", Check: "manual", Reason: "r", Time: at(10 * time.Second)},
		Options{Now: func() time.Time { return at(20 * time.Second) }, Collectors: []Collector{fillCollector{}}})
	if !errors.Is(res.Err, ErrNoSpace) || !strings.Contains(res.Err.Error(), "no space left") || !strings.Contains(res.Err.Error(), "kept in") {
		t.Fatalf("result error = %v, want a full disk and where the window is kept", res.Err)
	}
	t.Logf("error to the requester: %v", res.Err)
	kept, _ := filepath.Glob(filepath.Join(snapDir, failedPrefix+"*", "*.pcapng"))
	if got := segmentIDs(t, kept, at(time.Hour)); len(got) != 1000 {
		t.Errorf("kept staging holds %d of the 1000 frames", len(got))
	}
	if left, _ := filepath.Glob(filepath.Join(snapDir, ".tmp-*")); len(left) != 0 {
		t.Errorf("partial bundle left: %v", left)
	}
}

// lockedBuffer is a log sink safe for concurrent writers.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
