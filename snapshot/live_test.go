package snapshot

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/arpbox/arpbox/bundle"
	"github.com/arpbox/arpbox/ring"
)

// TestRealClockWithLiveRing runs a ring writer (its own owner goroutine,
// rotating every second) and the snapshotter on the real clock: the window
// after T is read from the hard-linked current segment as it grew, and from
// segments started after T.
func TestRealClockWithLiveRing(t *testing.T) {
	if testing.Short() {
		t.Skip("takes a few seconds of real time")
	}
	ringDir := filepath.Join(t.TempDir(), "ring")
	w := ring.NewWriter(ring.Config{Dir: ringDir, SegmentAge: time.Second}, []ring.Interface{{Name: "eth0", Filter: "arp"}, {Name: "eth1", Filter: "arp"}}, ring.Options{Hostname: "live"})
	if err := w.Open(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	flushReq := make(chan chan error)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var written []time.Time
	wg.Go(func() { // the ring's owner
		defer w.Close()
		pk := time.NewTicker(10 * time.Millisecond)
		tk := time.NewTicker(200 * time.Millisecond)
		defer pk.Stop()
		defer tk.Stop()
		id := uint32(0)
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-pk.C:
				f := arpFrame(int(id%2), id)
				w.WritePacket(int(id%2), now, len(f), f)
				mu.Lock()
				written = append(written, now)
				mu.Unlock()
				id++
			case now := <-tk.C:
				w.Tick(now)
			case reply := <-flushReq:
				reply <- w.Flush()
			}
		}
	})
	defer func() { cancel(); wg.Wait() }()
	flush := func() error {
		reply := make(chan error, 1)
		flushReq <- reply
		return <-reply
	}

	time.Sleep(2500 * time.Millisecond)
	cfg := testConfig(filepath.Join(t.TempDir(), "snap"))
	cfg.Before, cfg.After = 2*time.Second, 1500*time.Millisecond
	s := New(cfg, ringDir, Options{Flush: flush})
	rctx, rcancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(rctx) }()
	defer func() { rcancel(); <-done }()
	T := time.Now()
	ch, err := s.Request(bundle.Event{Trigger: "live", Check: "manual", Reason: "now", Time: T})
	if err != nil {
		t.Fatal(err)
	}
	res := <-ch
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	from, to := T.Add(-cfg.Before), T.Add(cfg.After)
	mu.Lock()
	want := 0
	for _, tm := range written {
		if !tm.Before(from) && !tm.After(to) {
			want++
		}
	}
	mu.Unlock()
	pkts, names, _ := readCapture(t, filepath.Join(res.Dir, captureName))
	if len(pkts) != want {
		t.Errorf("capture holds %d packets, the ring was given %d in the window", len(pkts), want)
	}
	if len(names) != 2 {
		t.Errorf("interfaces %v, want eth0 and eth1", names)
	}
	var comment int
	for i, p := range pkts {
		if p.Comment != "" {
			comment++
			if p.TS.Before(T) || (i > 0 && !pkts[i-1].TS.Before(T)) {
				t.Errorf("comment on packet %d at %v, not the first at or after T %v", i+1, p.TS, T)
			}
		}
	}
	if comment != 1 {
		t.Errorf("%d packet comments, want 1", comment)
	}
	m, _ := bundle.ReadManifestDir(res.Dir)
	if len(m.Segments) < 3 {
		t.Errorf("%d segments merged; with 1s rotation the 3.5s window spans at least 3", len(m.Segments))
	}
	t.Logf("live: %d packets from %d segments, freeze %.2fms", len(pkts), len(m.Segments), m.Freeze.DurationMS)
}
