package snapshot

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arpbox/arpbox/bundle"
	"github.com/arpbox/arpbox/internal/wine"
)

var ringBytes = flag.Int64("snapshot.ringbytes", 0,
	"size of the real ring TestMergeMemory builds and merges; 0 = 32MiB (4MiB under -race); 1073741824 for the 1GiB measurement")

// TestFreezeSparse1GiB freezes a 1GiB ring of 100 segments of 10MiB (sparse
// files: the freeze only links, so their content does not matter) and
// reports the time. The bound asserted is generous; the target is < 50ms.
func TestFreezeSparse1GiB(t *testing.T) {
	wine.SkipIf(t, "hard links and renames go through the wineserver, too slow for the 1 s bound")
	ringDir := filepath.Join(t.TempDir(), "ring")
	if err := os.Mkdir(ringDir, 0o750); err != nil {
		t.Fatal(err)
	}
	const segs = 100
	for i := range segs {
		start := at(time.Duration(i) * 6 * time.Second)
		name := fmt.Sprintf("arp-%08d-%s-%s.pcapng", i, start.Format(segTime), start.Add(6*time.Second).Format(segTime))
		if i == segs-1 {
			name = fmt.Sprintf("arp-%08d-%s.pcapng.part", i, start.Format(segTime))
		}
		f, err := os.Create(filepath.Join(ringDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(10 << 20); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	cfg := testConfig(filepath.Join(filepath.Dir(ringDir), "snap"))
	s := New(cfg, ringDir, Options{})
	var worst time.Duration
	for round := range 5 {
		j := &job{id: fmt.Sprintf("freeze-%d", round), ev: bundle.Event{Time: at(600 * time.Second)}, from: at(0), to: at(600 * time.Second)}
		start := time.Now()
		if err := s.freezeBefore(j); err != nil {
			t.Fatal(err)
		}
		d := time.Since(start)
		worst = max(worst, d)
		if len(j.pins) != segs || j.freeze.Method != "hardlink" {
			t.Fatalf("pinned %d segments by %s, want %d by hardlink", len(j.pins), j.freeze.Method, segs)
		}
		os.RemoveAll(j.freezeDir)
		t.Logf("freeze of a 1GiB ring (100 x 10MiB segments): %v", d)
	}
	fmt.Printf("FREEZE sparse 1GiB ring, 100 segments: worst of 5 = %v\n", worst)
	if worst > time.Second {
		t.Errorf("freeze took %v; target is < 50ms", worst)
	}
}

const segTime = "20060102T150405.000Z"

// TestMergeMemory builds a real ring of -snapshot.ringbytes (default 32MiB;
// 1GiB for the measurement in the report), snapshots a window covering all
// of it, and reports the freeze time and the peak heap while merging. Peak
// heap must not grow with the window: it is bounded by the reorder buffers,
// not by the capture.
func TestMergeMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a large ring")
	}
	ringDir := filepath.Join(t.TempDir(), "ring")
	r := newTestRing(t, ringDir, []string{"eth0", "eth1"}, t0)
	const perPacket = 76 // 42-byte frame in an EPB
	// A fixed rate (an ARP storm), so a bigger ring is a longer window:
	// memory must not grow with it.
	const rate = 20000 // packets per second
	size := *ringBytes
	if size == 0 {
		size = 32 << 20
		if raceEnabled {
			size = 4 << 20
		}
	}
	n := int(size / perPacket)
	step := time.Second / rate
	window := time.Duration(n) * step
	segBytes := int64(10 << 20)
	var written int64
	buildStart := time.Now()
	frames := [2][]byte{arpFrame(0, 0), arpFrame(1, 0)}
	for i := range n {
		iface := i % 2
		tm := at(time.Duration(i) * step)
		if iface == 1 {
			tm = tm.Add(-400 * time.Millisecond)
		}
		if written >= segBytes {
			r.rotate(at(time.Duration(i) * step))
			written = 0
		}
		f := frames[iface]
		f[37] = byte(i)
		if err := r.w.WritePacket(iface, tm, len(f), f); err != nil {
			t.Fatal(err)
		}
		written += perPacket
	}
	r.flush()
	var ringSize int64
	ents, _ := os.ReadDir(ringDir)
	for _, e := range ents {
		if fi, err := e.Info(); err == nil {
			ringSize += fi.Size()
		}
	}
	t.Logf("built ring: %d packets, %d segments, %d bytes in %v", n, len(ents), ringSize, time.Since(buildStart))

	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var mu sync.Mutex
	var peakHeap, peakSys uint64
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			mu.Lock()
			peakHeap = max(peakHeap, ms.HeapInuse)
			peakSys = max(peakSys, ms.Sys)
			mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
			}
		}
	})
	cfg := testConfig(filepath.Join(filepath.Dir(ringDir), "snap"))
	cfg.Before, cfg.After = window+time.Second, time.Minute // eth1 lags 400ms: the first ones are before t0
	T := at(window)
	start := time.Now()
	var opts Options
	if testing.Verbose() {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	res := runSnapshot(t, cfg, ringDir, bundle.Event{Trigger: "mem", Check: "manual", Reason: "memory test", Time: T}, opts)
	took := time.Since(start)
	cancel()
	wg.Wait()
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	m, err := bundle.ReadManifestDir(res.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Capture.Packets != uint64(n) || m.Capture.OutOfOrder != 0 {
		t.Errorf("capture has %d packets (%d out of order), want %d in order", m.Capture.Packets, m.Capture.OutOfOrder, n)
	}
	msg := fmt.Sprintf("MERGE ring %d MiB (%d segments, %d packets): freeze %.2fms, bundle written in %v, heap in use before %.1f MiB, peak %.1f MiB (+%.1f MiB), Go runtime Sys peak %.1f MiB, VmHWM %s",
		ringSize>>20, len(ents), n, m.Freeze.DurationMS, took.Round(time.Millisecond),
		mib(base.HeapInuse), mib(peakHeap), mib(peakHeap-min(peakHeap, base.HeapInuse)), mib(peakSys), vmHWM())
	t.Log(msg)
	fmt.Println(msg)
	if grow := peakHeap - min(peakHeap, base.HeapInuse); grow > 64<<20 {
		t.Errorf("heap grew by %.1f MiB while merging; it must stay flat", mib(grow))
	}
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// vmHWM reads the process's peak resident set size, where /proc has it.
func vmHWM() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "n/a"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "n/a"
}
