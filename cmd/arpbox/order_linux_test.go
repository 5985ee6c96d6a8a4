package main

import (
	"context"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arpbox/arpbox/internal/nstest"
)

// TestTwoInterfacesInTimeOrder: arpbox recording two interfaces, each with
// a peer that ARPs for it twenty times a second, writes segments whose
// frames are in time order (the kernel hands each interface's frames over
// in its own blocks, up to a second apart): capinfos finds them in strict
// time order and tshark reads every frame.
func TestTwoInterfacesInTimeOrder(t *testing.T) {
	nstest.RequireRoot(t, "tshark", "capinfos", "arping")
	gw, p1, p2 := nstest.NewHost(t, "gw"), nstest.NewHost(t, "p1"), nstest.NewHost(t, "p2")
	l1, r1 := nstest.Veth(t, gw, "10.210.1.1/24", p1, "10.210.1.2/24")
	l2, r2 := nstest.Veth(t, gw, "10.210.2.1/24", p2, "10.210.2.2/24")
	dir := t.TempDir()
	d := startRecorder(t, gw, l1.Name+", "+l2.Name, dir, recorderOpts{ring: "segment_size: 1MiB\nsegment_duration: 2s\nmax_size: 16MiB"})
	time.Sleep(500 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, x := range []struct {
		h    *nstest.Host
		link string
		dst  string
	}{{p1, r1.Name, l1.Addr().String()}, {p2, r2.Name, l2.Addr().String()}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = x.h.Command(ctx, "arping", "-c", "80", "-W", "0.05", "-i", x.link, x.dst).Run()
		}()
	}
	wg.Wait()
	time.Sleep(300 * time.Millisecond)
	if err := d.stop(); err != nil {
		t.Fatalf("arpbox exit: %v", err)
	}
	sealed, parts := ringFiles(t, dir+"/ring")
	if len(parts) != 0 || len(sealed) < 2 {
		t.Fatalf("ring: sealed %v, parts %v; want 2 or more sealed segments", sealed, parts)
	}
	total := 0
	for _, f := range sealed {
		out, err := exec.Command("capinfos", "-o", "-c", "-M", f).CombinedOutput()
		if err != nil {
			t.Fatalf("capinfos %s: %v\n%s", f, err, out)
		}
		if !strings.Contains(string(out), "Strict time order:   True") {
			t.Errorf("%s is not in time order:\n%s", f, out)
		}
		total += len(readFrames(t, f))
	}
	// 80 requests and 80 replies on each interface, give or take the
	// first and last.
	if total < 300 {
		t.Errorf("ring holds %d frames, want about 320", total)
	}
	t.Logf("%d segments, %d frames", len(sealed), total)
}
