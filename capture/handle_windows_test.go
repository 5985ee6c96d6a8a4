package capture

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestWindowsInterfaceNames: Windows names interfaces by friendly name or
// Npcap device name, longer than Linux's 15 bytes.
func TestWindowsInterfaceNames(t *testing.T) {
	for _, name := range []string{`\Device\NPF_{00000018-0000-0000-0000-4E6574446576}`, "Ethernet 2 (backend VLAN 42)", "10.0.0.5"} {
		if err := (LiveConfig{Iface: name}).Validate(); err != nil {
			t.Errorf("Validate(%q) = %v", name, err)
		}
	}
	if err := (LiveConfig{Iface: strings.Repeat("x", 513)}).Validate(); err == nil {
		t.Error("a 513-byte interface name validated")
	}
}

func TestCounterDelta(t *testing.T) {
	for _, tt := range []struct {
		prev, cur uint32
		want      uint64
	}{
		{0, 0, 0}, {0, 100, 100}, {100, 250, 150}, {0xfffffff0, 0x10, 0x20},
	} {
		if got := counterDelta(tt.prev, tt.cur); got != tt.want {
			t.Errorf("counterDelta(%#x, %#x) = %d, want %d", tt.prev, tt.cur, got, tt.want)
		}
	}
}

// TestLiveNpcapWineLive runs Live over the Npcap handle. It runs only when
// the Linux-side TestNpcapWine drives it: the peer sends bursts of 50 ARP
// requests 1 ms apart every second (each answered), so a burst must reach
// the consumer in few batches, not one per frame. Then stopping is prompt
// with traffic, and on an interface without any ARP (lo).
func TestLiveNpcapWineLive(t *testing.T) {
	if os.Getenv(envNpcapLive) != "capture" {
		t.Skip("skipping: run by TestNpcapWine on Linux (scripts/test-windows.sh), under Wine in a network namespace")
	}
	iface := os.Getenv(envNpcapIface)

	type batch struct {
		frames  int
		drained bool
	}
	run := func(t *testing.T, name string, d time.Duration) ([]batch, Stats) {
		t.Helper()
		l := NewLive(LiveConfig{Iface: name, SnapLen: 1500, BufferBytes: 1 << 20}, nil)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var got []batch
		done := make(chan error, 1)
		go func() {
			done <- l.Run(ctx, func(b *Batch) {
				got = append(got, batch{len(b.Frames), b.Drained})
				b.Release()
			})
		}()
		select {
		case <-l.Up():
		case err := <-done:
			t.Fatalf("Live %s ended before it was up: %v", name, err)
		case <-time.After(10 * time.Second):
			t.Fatalf("Live %s not up after 10 s", name)
		}
		time.Sleep(d)
		start := time.Now()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Live %s: %v", name, err)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("Live %s: Run still running 2 s after cancel", name)
		}
		t.Logf("Live %s: stop took %v", name, time.Since(start).Round(10*time.Microsecond))
		return got, l.Stats()
	}

	t.Run("bursts", func(t *testing.T) {
		got, st := run(t, iface, 3500*time.Millisecond)
		frames, biggest := 0, 0
		var sizes []string
		for _, b := range got {
			frames += b.frames
			biggest = max(biggest, b.frames)
			sizes = append(sizes, strconv.Itoa(b.frames))
		}
		t.Logf("%d frames in %d batches (sizes %s); stats %+v", frames, len(got), strings.Join(sizes, " "), st)
		if frames < 100 {
			t.Fatalf("%d frames in 3.5 s of bursts of 100 a second, want at least 100", frames)
		}
		// Frames come from Wine's libpcap in ~100 ms blocks, a burst of
		// 100 frames within ~50 ms: a few batches per burst, far fewer
		// than frames.
		if len(got) > frames/10 || biggest < 20 {
			t.Errorf("%d frames came in %d batches (biggest %d): want bursts handed on whole, not frame by frame", frames, len(got), biggest)
		}
		if st.Received < uint64(frames) {
			t.Errorf("Stats.Received = %d < %d frames delivered", st.Received, frames)
		}
	})
	t.Run("idle", func(t *testing.T) {
		// No ARP on the loopback device: the read idles until the stop.
		got, _ := run(t, "lo", 500*time.Millisecond)
		if len(got) != 0 {
			t.Errorf("%d batches from lo, want none", len(got))
		}
	})
}
