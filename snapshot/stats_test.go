package snapshot

import (
	"compress/gzip"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/arpbox/arpbox/bundle"
	"github.com/arpbox/arpbox/internal/pcapng"
	"github.com/arpbox/arpbox/ring"
)

func TestWindowDrops(t *testing.T) {
	run1, run2 := at(0), at(time.Hour)
	stats := func(start time.Time, when time.Duration, recv, drop uint64) ifaceStats {
		return ifaceStats{Start: start, Time: at(when), Received: recv, Dropped: drop, HasRecv: true, HasDrop: true}
	}
	tests := []struct {
		name           string
		base, last     ifaceStats
		haveBase, have bool
		want           dropCount
	}{
		{"no statistics", ifaceStats{}, ifaceStats{}, false, false, dropCount{Kind: "unknown"}},
		{"no baseline", ifaceStats{}, stats(run1, 2*time.Minute, 100, 7), false, true,
			dropCount{Kind: "cumulative", To: at(2 * time.Minute), Since: run1, Received: 100, Dropped: 7, HasRecv: true, HasDrop: true}},
		{"same run", stats(run1, time.Minute, 60, 5), stats(run1, 2*time.Minute, 100, 7), true, true,
			dropCount{Kind: "window", From: at(time.Minute), To: at(2 * time.Minute), Since: run1, Received: 40, Dropped: 2, HasRecv: true, HasDrop: true}},
		// arpbox restarted inside the window: the counters started over, so
		// subtracting the old run's would be a wrong figure.
		{"restart in the window", stats(run1, time.Minute, 60, 5), stats(run2, 2*time.Hour, 100, 7), true, true,
			dropCount{Kind: "cumulative", To: at(2 * time.Hour), Since: run2, Received: 100, Dropped: 7, HasRecv: true, HasDrop: true}},
	}
	for _, tt := range tests {
		got := windowDrops(tt.base, tt.last, tt.haveBase, tt.have)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

// isbOf is one interface statistics block of a bundle's capture as
// gopacket's pcapng reader (not ours) reads it, with the interface's packets.
type isbOf struct {
	Name                    string
	Start, End              time.Time
	Received, Dropped       uint64
	Packets                 uint64
	FirstPacket, LastPacket time.Time
}

func readISBs(t *testing.T, path string) ([]isbOf, pcapgo.NgSectionInfo) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var out []isbOf
	var r *pcapgo.NgReader
	r, err = pcapgo.NewNgReader(zr, pcapgo.NgReaderOptions{StatisticsCallback: func(id int, st pcapgo.NgInterfaceStatistics) {
		for len(out) <= id {
			out = append(out, isbOf{})
		}
		in, _ := r.Interface(id)
		out[id].Name, out[id].Start, out[id].End = in.Name, st.StartTime.UTC(), st.EndTime.UTC()
		out[id].Received, out[id].Dropped = st.PacketsReceived, st.PacketsDropped
	}})
	if err != nil {
		t.Fatal(err)
	}
	count := map[int]*isbOf{}
	for {
		_, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		c := count[ci.InterfaceIndex]
		if c == nil {
			c = &isbOf{FirstPacket: ci.Timestamp.UTC()}
			count[ci.InterfaceIndex] = c
		}
		c.Packets++
		c.LastPacket = ci.Timestamp.UTC()
	}
	for id := range out {
		if c := count[id]; c != nil {
			out[id].Packets, out[id].FirstPacket, out[id].LastPacket = c.Packets, c.FirstPacket, c.LastPacket
		}
	}
	return out, r.SectionInfo()
}

// statsRing records eth0 and eth1, a packet on each every 100 ms of
// [0, end) on t0's timeline, rotating at the given offsets, with 3 drops on
// eth0. The ring is opened at t0: arpbox's start. setLag makes the capture
// counters lag the frames from then on (as the capture's do: it reads the
// kernel's once a second).
func statsRing(t *testing.T, dir string, rotations []time.Duration, end time.Duration) (w *ring.Writer, setLag func(uint64)) {
	clk := &fakeClock{t: t0}
	var mu sync.Mutex
	rx := []uint64{0, 0}
	var lag uint64
	w = ring.NewWriter(ring.Config{Dir: dir, SegmentBytes: 4 << 30, SegmentAge: 1000 * time.Hour, MaxBytes: 1 << 40},
		[]ring.Interface{{Name: "eth0", Filter: "arp"}, {Name: "eth1", Filter: "arp"}},
		ring.Options{Now: clk.Now, Hostname: "testhost", Version: "test", Stats: func(i int) (uint64, uint64) {
			mu.Lock()
			defer mu.Unlock()
			r := rx[i] + 3*uint64(1-i) // eth0 dropped 3 frames at the start
			return r - min(r, lag), 3 * uint64(1-i)
		}})
	if err := w.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	for d := time.Duration(0); d < end; d += 100 * time.Millisecond {
		if len(rotations) > 0 && d >= rotations[0] {
			clk.Set(t0.Add(rotations[0]))
			if err := w.Rotate(); err != nil {
				t.Fatal(err)
			}
			rotations = rotations[1:]
		}
		for i := range 2 {
			f := arpFrame(i, uint32(d/time.Millisecond))
			if err := w.WritePacket(i, t0.Add(d+time.Duration(i)*time.Millisecond), len(f), f); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			rx[i]++
			mu.Unlock()
		}
	}
	clk.Set(t0.Add(end))
	return w, func(n uint64) {
		mu.Lock()
		lag = n
		mu.Unlock()
	}
}

// The statistics blocks of a bundle say which span their counters cover,
// and never count fewer frames than the capture holds: checked with
// gopacket's reader, which knows nothing of arpbox.
func TestBundleStatisticsAddUp(t *testing.T) {
	tests := []struct {
		name      string
		rotations []time.Duration
		lag       uint64 // of the counters when the bundle is written
		before    time.Duration
		T         time.Duration
		// want
		startAt  time.Duration // isb_starttime, both interfaces
		endAt    time.Duration // isb_endtime, eth0
		received []uint64
	}{
		{
			// The window [-30s, 50s] starts before arpbox did: the counters
			// cover [0, flush], cumulative.
			name: "window before arpbox started", before: time.Minute, T: 30 * time.Second,
			startAt: 0, endAt: 90 * time.Second, received: []uint64{903, 900},
		},
		{
			// Counters before the window [40s, 100s] (the seal at 30s) and
			// after it (the flush at 90s): their difference.
			name: "difference around the window", rotations: []time.Duration{30 * time.Second, 60 * time.Second},
			before: 40 * time.Second, T: 80 * time.Second,
			startAt: 30 * time.Second, endAt: 90 * time.Second, received: []uint64{600, 600},
		},
		{
			// The counters at the flush lag 150 frames behind the frames
			// written: the ring raises them to the frames written (900 and
			// the 3 drops), so the difference is right again.
			name: "counters behind the frames", rotations: []time.Duration{30 * time.Second, 60 * time.Second},
			lag: 150, before: 40 * time.Second, T: 80 * time.Second,
			startAt: 30 * time.Second, endAt: 90 * time.Second, received: []uint64{600, 600},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ringDir := filepath.Join(t.TempDir(), "ring")
			w, setLag := statsRing(t, ringDir, tt.rotations, 90*time.Second)
			setLag(tt.lag)
			cfg := testConfig(filepath.Join(t.TempDir(), "snapshots"))
			cfg.Before, cfg.After = tt.before, 20*time.Second
			T := at(tt.T)
			// The snapshotter asks the ring to flush, as the recorder's does.
			opts := Options{Now: (&fakeClock{t: T}).Now, Flush: w.Flush}
			res := runSnapshot(t, cfg, ringDir, bundle.Event{Trigger: "manual", Check: "manual", Reason: "test", Time: T}, opts)
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			path := filepath.Join(res.Dir, captureName)
			isbs, _ := readISBs(t, path)
			if len(isbs) != 2 {
				t.Fatalf("%d interfaces with statistics, want 2", len(isbs))
			}
			var got []uint64
			for i, s := range isbs {
				got = append(got, s.Received)
				if s.Received < s.Packets {
					t.Errorf("%s: isb_ifrecv %d < %d packets in the file", s.Name, s.Received, s.Packets)
				}
				if s.Start.After(s.FirstPacket) || s.End.Before(s.LastPacket) {
					t.Errorf("%s: statistics cover [%v, %v], packets [%v, %v]", s.Name, s.Start, s.End, s.FirstPacket, s.LastPacket)
				}
				if !s.Start.Equal(at(tt.startAt)) {
					t.Errorf("%s: isb_starttime %v, want %v", s.Name, s.Start, at(tt.startAt))
				}
				if i == 0 && !s.End.Equal(at(tt.endAt)) {
					t.Errorf("%s: isb_endtime %v, want %v", s.Name, s.End, at(tt.endAt))
				}
			}
			if diff := cmp.Diff(tt.received, got); diff != "" {
				t.Errorf("isb_ifrecv (-want +got):\n%s", diff)
			}
			// The manifest says the same.
			m, err := bundle.ReadManifestDir(res.Dir)
			if err != nil {
				t.Fatal(err)
			}
			for i, in := range m.Interfaces {
				if in.Received == nil || *in.Received != got[i] {
					t.Errorf("manifest %s received %v, want %d", in.Name, in.Received, got[i])
				}
				if in.DropsFrom == nil || in.DropsTo == nil || !in.DropsFrom.Equal(isbs[i].Start) || !in.DropsTo.Equal(isbs[i].End) {
					t.Errorf("manifest %s counts from %v to %v, the statistics block [%v, %v]", in.Name, in.DropsFrom, in.DropsTo, isbs[i].Start, isbs[i].End)
				}
			}
			// The tools agree: tshark's packets per interface are within
			// isb_ifrecv, capinfos's first and last within the span.
			perIface := map[string]uint64{}
			for _, l := range tshark(t, "-r", path, "-T", "fields", "-e", "frame.interface_name") {
				perIface[l]++
			}
			for _, s := range isbs {
				if perIface[s.Name] != s.Packets || s.Received < perIface[s.Name] {
					t.Errorf("%s: tshark counts %d packets, gopacket %d, isb_ifrecv %d", s.Name, perIface[s.Name], s.Packets, s.Received)
				}
			}
			if out, err := exec.Command("capinfos", "-a", "-e", "-T", "-r", "-S", path).Output(); err == nil {
				f := strings.Fields(string(out))
				first, _ := strconv.ParseFloat(f[len(f)-2], 64)
				last, _ := strconv.ParseFloat(f[len(f)-1], 64)
				for _, s := range isbs {
					if float64(s.Start.UnixNano())/1e9 > first+1e-6 || float64(s.End.UnixNano())/1e9 < last-1e-6 {
						t.Errorf("%s: statistics span [%v, %v] does not cover capinfos's [%.9f, %.9f]", s.Name, s.Start, s.End, first, last)
					}
				}
			} else {
				t.Logf("capinfos: %v", err)
			}
			if isbs[1].Dropped != 0 || (tt.startAt == 0 && isbs[0].Dropped != 3) {
				t.Errorf("isb_ifdrop %d, %d", isbs[0].Dropped, isbs[1].Dropped)
			}
		})
	}
}

// bundleStats, given counters that cover less than the capture (the last
// statistics came before the last frames, from a ring without a flush hook
// or one written before counters were raised to the frames written),
// raises received to the frames and widens the span to them.
func TestBundleStatsFloor(t *testing.T) {
	from, to := at(40*time.Second), at(100*time.Second)
	first, last := at(40*time.Second).UnixNano(), at(95*time.Second).UnixNano()
	tests := []struct {
		name               string
		d                  dropCount
		packets            uint64
		wantRecv           uint64
		wantStart, wantEnd time.Time
		wantHas            pcapng.StatsField
	}{
		{"counts cover the frames", dropCount{Kind: "window", From: at(30 * time.Second), To: at(98 * time.Second), Received: 700, HasRecv: true, Dropped: 2, HasDrop: true},
			550, 700, at(30 * time.Second), at(98 * time.Second), pcapng.HasStartTime | pcapng.HasEndTime | pcapng.HasReceived | pcapng.HasDropped},
		{"counts end before the frames", dropCount{Kind: "window", From: at(30 * time.Second), To: at(45 * time.Second), Received: 150, HasRecv: true, Dropped: 0, HasDrop: true},
			550, 550, at(30 * time.Second), at(95 * time.Second), pcapng.HasStartTime | pcapng.HasEndTime | pcapng.HasReceived | pcapng.HasDropped},
		{"cumulative since arpbox started in the window", dropCount{Kind: "cumulative", To: at(98 * time.Second), Since: at(50 * time.Second), Received: 480, HasRecv: true, HasDrop: true},
			480, 480, at(50 * time.Second), at(98 * time.Second), pcapng.HasStartTime | pcapng.HasEndTime | pcapng.HasReceived | pcapng.HasDropped},
		{"no counters", dropCount{Kind: "unknown"}, 550, 0, from, to, pcapng.HasStartTime | pcapng.HasEndTime},
	}
	for _, tt := range tests {
		first := first
		if tt.d.Kind == "cumulative" {
			first = at(50 * time.Second).UnixNano()
		}
		st := bundleStats(0, tt.d, from, to, tt.packets, first, last)
		got := []any{st.Received, time.Unix(0, st.StartTime).UTC(), time.Unix(0, st.EndTime).UTC(), st.Has}
		want := []any{tt.wantRecv, tt.wantStart, tt.wantEnd, tt.wantHas}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: received, start, end, fields (-want +got):\n%s", tt.name, diff)
		}
	}
}
