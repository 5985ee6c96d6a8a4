package ring

import (
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket/pcapgo"
)

// On the packet clock (replay), segments are named, rotated by age and
// their statistics stamped by the packets' timestamps, whatever the wall
// clock does meanwhile: the first segment as the later ones.
func TestPacketClockNames(t *testing.T) {
	first := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC) // an old capture
	wall := &fakeClock{t: t0}                             // replayed today
	dir := t.TempDir()
	w := NewWriter(Config{Dir: dir, SegmentAge: 5 * time.Minute}, testIfaces[:1], Options{Now: wall.Now, PacketClock: first})
	w.diskFree = func(string) (uint64, uint64, error) { return 1 << 40, 1 << 41, nil }
	if err := w.Open(); err != nil {
		t.Fatal(err)
	}
	if got, want := baseNames(segmentFiles(t, dir)), []string{partName(0, first)}; !cmp.Equal(got, want) {
		t.Errorf("first segment before any packet: %v, want %v", got, want)
	}
	// A packet every 10 s of [0, 12 min); the wall clock jumps ahead by an
	// hour now and then, and Tick runs whenever NextTick asks.
	for i := range 72 {
		ts := first.Add(time.Duration(i) * 10 * time.Second)
		if err := w.WritePacket(0, ts, 64, testFrame(60)); err != nil {
			t.Fatal(err)
		}
		if i%10 == 0 {
			wall.Advance(time.Hour)
		}
		wall.Advance(time.Millisecond)
		if now := wall.Now(); !now.Before(w.NextTick(now)) {
			if err := w.Tick(now); err != nil {
				t.Fatal(err)
			}
			if next := w.NextTick(now); !next.After(now) {
				t.Fatalf("after Tick, NextTick(%v) = %v: the owner would spin", now, next)
			}
		}
	}
	// Silence, then one packet at 40 min: the segment started at 10 min
	// ends at 15, as it would have live.
	if err := w.WritePacket(0, first.Add(40*time.Minute), 64, testFrame(60)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	m := func(d time.Duration) time.Time { return first.Add(d) }
	want := []string{
		sealedName(0, m(0), m(5*time.Minute)),
		sealedName(1, m(5*time.Minute), m(10*time.Minute)),
		sealedName(2, m(10*time.Minute), m(15*time.Minute)),
		sealedName(3, m(40*time.Minute), m(40*time.Minute)),
	}
	files := segmentFiles(t, dir)
	if diff := cmp.Diff(want, baseNames(files)); diff != "" {
		t.Fatalf("segments (-want +got):\n%s", diff)
	}
	// Statistics blocks: the packet clock's span, no counters.
	for i, f := range files {
		st := readStats(t, f)
		wantEnd := []time.Time{m(5 * time.Minute), m(10 * time.Minute), m(15 * time.Minute), m(40 * time.Minute)}[i]
		if !st.StartTime.Equal(first) || !st.EndTime.Equal(wantEnd) || st.PacketsReceived != pcapgo.NgNoValue64 || st.PacketsDropped != pcapgo.NgNoValue64 {
			t.Errorf("%s: statistics %+v; want [%v, %v] and no counters", baseNames([]string{f})[0], st, first, wantEnd)
		}
	}
	capinfos(t, files...)
	if haveTool(t, "capinfos") {
		for i, f := range files {
			out := string(capinfosOutput(t, f))
			if want := "First packet time:   " + []time.Time{m(0), m(5 * time.Minute), m(10 * time.Minute), m(40 * time.Minute)}[i].Local().Format("2006-01-02 15:04:05"); !strings.Contains(out, want) {
				t.Errorf("capinfos %s lacks %q:\n%s", f, want, out)
			}
		}
	}
}

// readStats returns the last statistics block of interface 0, as gopacket
// reads it.
func readStats(t *testing.T, path string) pcapgo.NgInterfaceStatistics {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var st pcapgo.NgInterfaceStatistics
	r, err := pcapgo.NewNgReader(f, pcapgo.NgReaderOptions{StatisticsCallback: func(id int, s pcapgo.NgInterfaceStatistics) {
		if id == 0 {
			st = s
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, _, err := r.ReadPacketData(); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	st.StartTime, st.EndTime = st.StartTime.UTC(), st.EndTime.UTC()
	return st
}
