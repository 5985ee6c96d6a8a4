package ring

import (
	"strings"
	"testing"
	"time"
)

// TestSetInterfaces: changing the interfaces seals the current segment
// (its blocks name the old set) and starts one whose interface blocks are
// the new set; packets then use indices into the new set.
func TestSetInterfaces(t *testing.T) {
	clk := &fakeClock{t: t0}
	cfg := Config{Dir: t.TempDir()}
	w := newTestWriter(t, cfg, clk)
	if err := w.WritePacket(1, clk.Now(), 60, testFrame(60)); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	next := []Interface{{Name: "eth2", Filter: "arp", OS: "Linux"}, {Name: "eth3", Filter: "arp", OS: "Linux"}, {Name: "eth4", Filter: "arp", OS: "Linux"}}
	if err := w.SetInterfaces(next); err != nil {
		t.Fatal(err)
	}
	if err := w.WritePacket(2, clk.Now(), 60, testFrame(60)); err != nil {
		t.Fatalf("a packet on the third of the new interfaces: %v", err)
	}
	if err := w.WritePacket(3, clk.Now(), 60, testFrame(60)); err == nil {
		t.Error("a packet on a fourth interface of three was accepted")
	}
	if err := w.SetInterfaces(nil); err == nil {
		t.Error("no interfaces at all was accepted")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	files := segmentFiles(t, cfg.Dir)
	if len(files) != 2 {
		t.Fatalf("segments %v, want the one before and the one after the change", files)
	}
	for i, want := range []string{"eth1 eth2 |eth2", "eth2 eth3 eth4 |eth4"} {
		if !haveTool(t, "tshark") {
			break
		}
		names := strings.Fields(tsharkRead(t, files[i], "-T", "fields", "-e", "frame.interface_name"))
		idbs := capinfosOutput(t, files[i])
		wantIDBs, wantPkt, _ := strings.Cut(want, "|")
		for _, n := range strings.Fields(wantIDBs) {
			if !strings.Contains(string(idbs), "Name = "+n) {
				t.Errorf("segment %d: no interface block for %s:\n%s", i, n, idbs)
			}
		}
		if len(names) != 1 || names[0] != wantPkt {
			t.Errorf("segment %d: packets on %v, want one on %s", i, names, wantPkt)
		}
	}
}

// TestSetLimits: a smaller max_size prunes at once, a different dir is
// refused and changes nothing, and an invalid config is refused.
func TestSetLimits(t *testing.T) {
	clk := &fakeClock{t: t0}
	cfg := Config{Dir: t.TempDir(), SegmentBytes: MinSegmentBytes, MaxBytes: 40 * MinSegmentBytes}
	w := newTestWriter(t, cfg, clk)
	frame := testFrame(1000)
	for range 2000 { // about 30 segments
		if err := w.WritePacket(0, clk.Now(), len(frame), frame); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Tick(clk.Now()); err != nil {
		t.Fatal(err)
	}
	before := w.Stats().Segments
	if err := w.SetLimits(Config{Dir: cfg.Dir + "/other", SegmentBytes: MinSegmentBytes, MaxBytes: 4 * MinSegmentBytes}); err == nil || !strings.Contains(err.Error(), "dir") {
		t.Errorf("another dir: %v, want an error about dir", err)
	}
	if err := w.SetLimits(Config{Dir: cfg.Dir, SegmentBytes: MinSegmentBytes, MaxBytes: MinSegmentBytes}); err == nil {
		t.Error("max_size below twice segment_size was accepted")
	}
	if got := w.Stats().Segments; got != before {
		t.Fatalf("refused limits changed the ring: %d segments, had %d", got, before)
	}
	if err := w.SetLimits(Config{Dir: cfg.Dir, SegmentBytes: MinSegmentBytes, MaxBytes: 4 * MinSegmentBytes}); err != nil {
		t.Fatal(err)
	}
	st := w.Stats()
	t.Logf("segments %d before, %d after max_size 40 → 4 segments", before, st.Segments)
	if before < 20 || st.Segments > 4 || st.RingBytes > 4*MinSegmentBytes {
		t.Errorf("after max_size 256KiB: %d segments, %d bytes (had %d segments)", st.Segments, st.RingBytes, before)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestSetInterfacesWhileOrdering: frames held for time ordering are
// written under the interfaces they came from when the set changes, and
// the reorder buffer takes the new set's indices.
func TestSetInterfacesWhileOrdering(t *testing.T) {
	clk := &fakeClock{t: t0}
	cfg := Config{Dir: t.TempDir()}
	w := NewWriter(cfg, testIfaces, Options{Now: clk.Now, Hostname: "testhost", Version: "test", Reorder: testHold})
	w.diskFree = func(string) (uint64, uint64, error) { return 1 << 40, 1 << 41, nil }
	if err := w.Open(); err != nil {
		t.Fatal(err)
	}
	// Held: interface 1 is ahead of interface 0, which has sent nothing.
	for i := range 3 {
		if err := w.WritePacket(1, clk.Now().Add(time.Duration(i)*time.Millisecond), 60, testFrame(60)); err != nil {
			t.Fatal(err)
		}
	}
	next := []Interface{{Name: "eth2", Filter: "arp"}, {Name: "eth3", Filter: "arp"}, {Name: "eth4", Filter: "arp"}}
	if err := w.SetInterfaces(next); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	for i := range 3 {
		if err := w.WritePacket(2, clk.Now().Add(time.Duration(i)*time.Millisecond), 60, testFrame(60)); err != nil {
			t.Fatalf("a packet on the third of the new interfaces: %v", err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	files := segmentFiles(t, cfg.Dir)
	if len(files) != 2 {
		t.Fatalf("segments %v, want the one before and the one after the change", files)
	}
	if !haveTool(t, "tshark") {
		return
	}
	for i, want := range []string{"eth2 eth2 eth2", "eth4 eth4 eth4"} {
		got := strings.Join(strings.Fields(tsharkRead(t, files[i], "-T", "fields", "-e", "frame.interface_name")), " ")
		if got != want {
			t.Errorf("segment %d: packets on %q, want %q", i, got, want)
		}
	}
}
