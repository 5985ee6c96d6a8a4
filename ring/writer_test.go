package ring

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// TestRotation drives a writer with an injected clock and checks the exact
// segment names it leaves.
func TestRotation(t *testing.T) {
	ms := func(d time.Duration) time.Time { return t0.Add(d) }
	tests := []struct {
		name string
		cfg  Config
		run  func(w *Writer, clk *fakeClock)
		want []string
	}{
		{
			name: "size rotation at a fixed time",
			cfg:  Config{SegmentBytes: 64 << 10},
			run: func(w *Writer, clk *fakeClock) {
				for range 200 { // 200 x 1032-byte blocks: three full segments and a bit
					w.WritePacket(0, clk.Now(), 1000, testFrame(1000))
				}
			},
			want: []string{
				sealedName(0, t0, t0), sealedName(1, t0, t0), sealedName(2, t0, t0), partName(3, t0),
			},
		},
		{
			name: "age rotation with zero traffic",
			cfg:  Config{SegmentAge: time.Minute},
			run: func(w *Writer, clk *fakeClock) {
				for range 3*5*60 + 2 { // ticks every 200ms for 3m0.4s
					clk.Advance(200 * time.Millisecond)
					w.Tick(clk.Now())
				}
			},
			want: []string{
				sealedName(0, t0, ms(time.Minute)),
				sealedName(1, ms(time.Minute), ms(2*time.Minute)),
				sealedName(2, ms(2*time.Minute), ms(3*time.Minute)),
				partName(3, ms(3*time.Minute)),
			},
		},
		{
			name: "age rotation with sparse traffic (one packet per 45s)",
			cfg:  Config{SegmentAge: time.Minute},
			run: func(w *Writer, clk *fakeClock) {
				for i := range 5 * 60 * 2 { // 2 minutes of 200ms ticks
					clk.Advance(200 * time.Millisecond)
					if i%225 == 0 {
						w.WritePacket(1, clk.Now(), 42, testFrame(42))
					}
					w.Tick(clk.Now())
				}
			},
			want: []string{
				sealedName(0, t0, ms(time.Minute)),
				sealedName(1, ms(time.Minute), ms(2*time.Minute)),
				partName(2, ms(2*time.Minute)),
			},
		},
		{
			name: "explicit rotate and close",
			cfg:  Config{},
			run: func(w *Writer, clk *fakeClock) {
				clk.Advance(1500 * time.Millisecond)
				w.Rotate()
				clk.Advance(time.Second)
				w.Close()
			},
			want: []string{
				sealedName(0, t0, ms(1500*time.Millisecond)),
				sealedName(1, ms(1500*time.Millisecond), ms(2500*time.Millisecond)),
			},
		},
		{
			name: "max_segments keeps the newest",
			cfg:  Config{SegmentAge: time.Minute, MaxSegments: 3},
			run: func(w *Writer, clk *fakeClock) {
				for range 5 {
					clk.Advance(time.Minute)
					w.Tick(clk.Now())
				}
			},
			want: []string{
				sealedName(3, ms(3*time.Minute), ms(4*time.Minute)),
				sealedName(4, ms(4*time.Minute), ms(5*time.Minute)),
				partName(5, ms(5*time.Minute)),
			},
		},
		{
			name: "clock stepped back rotates",
			cfg:  Config{},
			run: func(w *Writer, clk *fakeClock) {
				clk.Advance(-time.Hour)
				w.Tick(clk.Now())
			},
			want: []string{sealedName(0, t0, ms(-time.Hour)), partName(1, ms(-time.Hour))},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &fakeClock{t: t0}
			w := newTestWriter(t, tt.cfg, clk)
			tt.run(w, clk)
			w.waitSealed()
			files := segmentFiles(t, w.cfg.Dir)
			if diff := cmp.Diff(tt.want, baseNames(files)); diff != "" {
				t.Errorf("segments (-want +got):\n%s", diff)
			}
			for _, f := range files {
				if st, _ := os.Stat(f); st.Size() > w.cfg.SegmentBytes {
					t.Errorf("%s: %d bytes > segment_size %d", filepath.Base(f), st.Size(), w.cfg.SegmentBytes)
				}
			}
			w.Close()
			capinfos(t, segmentFiles(t, w.cfg.Dir)...)
		})
	}
}

// TestSizeRotationFillsSegments checks that size rotation cuts segments
// close to, never above, segment_size.
func TestSizeRotationFillsSegments(t *testing.T) {
	clk := &fakeClock{t: t0}
	w := newTestWriter(t, Config{SegmentBytes: 64 << 10}, clk)
	for i := range 3000 {
		n := 42 + i%200
		w.WritePacket(i%2, clk.Now(), n, testFrame(n))
	}
	w.Close()
	segs, _ := List(w.cfg.Dir)
	total := 0
	for _, s := range segs[:len(segs)-1] {
		if s.Size > 64<<10 || s.Size < int64(64<<10-epbLen(241)-2*isbLen) {
			t.Errorf("%s: %d bytes, want within one packet of %d", filepath.Base(s.Path), s.Size, 64<<10)
		}
	}
	for _, s := range segs {
		total += readBack(t, s.Path)
	}
	if total != 3000 {
		t.Errorf("read back %d packets, want 3000", total)
	}
	capinfos(t, segmentFiles(t, w.cfg.Dir)...)
}

// TestRetention checks max_size, max_segments and min_free with a fake
// free-space function: oldest segments go first, the current segment stays,
// the limit holds after every step, and no more is removed than needed.
func TestRetention(t *testing.T) {
	const seg = 64 << 10
	tests := []struct {
		name     string
		cfg      Config
		capacity int64 // fake file system size; other use is zero
	}{
		{"max_size", Config{SegmentBytes: seg, MaxBytes: 5 * seg}, 1 << 40},
		{"max_segments", Config{SegmentBytes: seg, MaxSegments: 4}, 1 << 40},
		{"min_free percent", Config{SegmentBytes: seg, MinFreePercent: 50}, 16 * seg},
		{"min_free bytes", Config{SegmentBytes: seg, MinFreeBytes: 10 * seg}, 16 * seg},
		{"max_size bites before min_free", Config{SegmentBytes: seg, MaxBytes: 3 * seg, MinFreePercent: 10}, 16 * seg},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &fakeClock{t: t0}
			w := newTestWriter(t, tt.cfg, clk)
			dir := w.cfg.Dir
			w.diskFree = func(string) (uint64, uint64, error) {
				return uint64(max(tt.capacity-dirBytes(t, dir), 0)), uint64(tt.capacity), nil
			}
			frame := testFrame(500)
			for i := range 1500 {
				w.WritePacket(0, clk.Now(), 500, frame)
				if i%10 != 0 {
					continue
				}
				clk.Advance(100 * time.Millisecond)
				w.Tick(clk.Now())
				used := dirBytes(t, dir)
				if used > w.cfg.MaxBytes+w.cfg.SegmentBytes {
					t.Fatalf("after packet %d: ring uses %d bytes > max_size %d + one segment", i, used, w.cfg.MaxBytes)
				}
				if n := len(segmentFiles(t, dir)); tt.cfg.MaxSegments > 0 && n > tt.cfg.MaxSegments {
					t.Fatalf("after packet %d: %d segments > max_segments %d", i, n, tt.cfg.MaxSegments)
				}
			}
			w.waitSealed()
			segs, _ := List(dir)
			// Oldest first: what is kept is the newest run of sequence
			// numbers, ending with the current segment.
			var gotSeqs, wantSeqs []uint64
			for i, s := range segs {
				gotSeqs = append(gotSeqs, s.Seq)
				wantSeqs = append(wantSeqs, w.cur.seq-uint64(len(segs)-1-i))
			}
			if len(segs) < 2 || segs[0].Seq == 0 {
				t.Fatalf("kept segments %v; test does not exercise retention", gotSeqs)
			}
			if diff := cmp.Diff(wantSeqs, gotSeqs); diff != "" {
				t.Errorf("kept segments are not the newest (-want +got):\n%s", diff)
			}
			if !segs[len(segs)-1].Current {
				t.Errorf("current segment missing: %v", segmentFiles(t, dir))
			}
			// Not more than needed.
			var sum int64
			for _, s := range segs {
				sum += s.Size
			}
			switch {
			case tt.cfg.MaxSegments > 0:
				if len(segs) != tt.cfg.MaxSegments {
					t.Errorf("%d segments kept, want max_segments %d", len(segs), tt.cfg.MaxSegments)
				}
			case tt.cfg.MaxBytes > 0:
				// The current segment counts against max_size, so up to
				// one segment of room is left while it fills.
				if sum <= tt.cfg.MaxBytes-2*seg {
					t.Errorf("ring holds %d bytes; pruned more than max_size %d asks", sum, tt.cfg.MaxBytes)
				}
			default:
				free := tt.capacity - sum
				need := max(tt.cfg.MinFreeBytes, int64(float64(tt.capacity)*tt.cfg.MinFreePercent/100))
				if free < need {
					t.Errorf("free %d < min_free %d", free, need)
				}
			}
			st := w.Stats()
			if st.SegmentsPruned == 0 || int(st.SegmentsSealed)+1-int(st.SegmentsPruned) != len(segs) {
				t.Errorf("stats %+v disagree with %d segments on disk", st, len(segs))
			}
			w.Close()
			capinfos(t, segmentFiles(t, dir)...)
		})
	}
}

// TestFlushInterval checks that packets reach the file within FlushInterval
// and not on every write.
func TestFlushInterval(t *testing.T) {
	clk := &fakeClock{t: t0}
	w := newTestWriter(t, Config{FlushInterval: time.Second}, clk)
	path := w.cur.path
	size := func() int64 { return fileSize(t, path) }
	header := size()
	if header == 0 {
		t.Fatal("headers not flushed when the segment was started")
	}
	if n := readBack(t, path); n != 0 {
		t.Errorf("new segment reads back %d packets", n)
	}
	w.WritePacket(0, clk.Now(), 60, testFrame(60))
	clk.Advance(900 * time.Millisecond)
	w.Tick(clk.Now())
	if got := size(); got != header {
		t.Errorf("after 0.9s: file is %d bytes, want %d (buffered)", got, header)
	}
	clk.Advance(100 * time.Millisecond)
	w.Tick(clk.Now())
	if got, want := size(), header+int64(epbLen(60)); got != want {
		t.Errorf("after 1s: file is %d bytes, want %d (flushed)", got, want)
	}
	if n := readBack(t, path); n != 1 {
		t.Errorf("flushed .part reads back %d packets, want 1", n)
	}
	capinfos(t, path)
	w.Close()
}

// TestDrained: when the sources drain, buffered packets go to the file
// at once, unless a flush was less than half a FlushInterval ago.
func TestDrained(t *testing.T) {
	clk := &fakeClock{t: t0}
	w := newTestWriter(t, Config{FlushInterval: time.Second}, clk)
	path := w.cur.path
	size := func() int64 { return fileSize(t, path) }
	header := size()
	w.WritePacket(0, clk.Now(), 60, testFrame(60))
	clk.Advance(400 * time.Millisecond) // the segment's headers were flushed at t0
	w.Drained(clk.Now())
	if got := size(); got != header {
		t.Errorf("drained 0.4s after a flush: file is %d bytes, want %d (left to the timed flush)", got, header)
	}
	clk.Advance(100 * time.Millisecond)
	w.Drained(clk.Now())
	if got, want := size(), header+int64(epbLen(60)); got != want {
		t.Errorf("drained 0.5s after a flush: file is %d bytes, want %d (written)", got, want)
	}
	if got, want := w.NextTick(clk.Now()), t0.Add(retentionEvery); !got.Equal(want) {
		t.Errorf("NextTick after the drained flush = %v, want the retention check at %v", got.Sub(t0), want.Sub(t0))
	}
	w.Close()
}

// TestNextTick checks when the Writer says its timed work is next due, and
// that an owner sleeping exactly until then (as arpbox's does) keeps the
// flush interval and the segment age.
func TestNextTick(t *testing.T) {
	clk := &fakeClock{t: t0}
	age := 3 * retentionEvery
	w := newTestWriter(t, Config{SegmentAge: age, FlushInterval: time.Second}, clk)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	check := func(what string, want time.Time) {
		t.Helper()
		if got := w.NextTick(clk.Now()); !got.Equal(want) {
			t.Errorf("%s: NextTick = %v, want %v", what, got.Sub(t0), want.Sub(t0))
		}
	}
	check("idle after Open: the retention check", at(retentionEvery))

	clk.Advance(300 * time.Millisecond)
	w.WritePacket(0, clk.Now(), 60, testFrame(60))
	check("packet buffered: the flush, a second after the segment started", at(time.Second))
	w.Flush()
	check("flushed: the retention check again", at(retentionEvery))

	// Sleep until NextTick, tick, repeat: with no traffic the segment is
	// rotated exactly at its age, and nothing else wakes the owner more
	// often than the retention check.
	wakes := 0
	for clk.Now().Before(at(age)) {
		clk.t = w.NextTick(clk.Now())
		w.Tick(clk.Now())
		wakes++
	}
	if want := int(age / retentionEvery); wakes != want {
		t.Errorf("a silent segment's life took %d wakeups, want %d", wakes, want)
	}
	check("just rotated: a seal to account for", at(age+time.Second))
	if err := w.waitSealed(); err != nil {
		t.Fatal(err)
	}
	if got := segmentFiles(t, w.cfg.Dir); len(got) != 2 || !strings.HasSuffix(got[0], sealedName(0, t0, at(age))) {
		t.Errorf("after NextTick sleeps: segments %v, want the first sealed at %v", baseNames(got), age)
	}
	check("seal accounted for", at(age+retentionEvery))

	// A packet written long after the last flush is due at once.
	clk.Advance(5 * time.Second)
	w.WritePacket(0, clk.Now(), 60, testFrame(60))
	if got := w.NextTick(clk.Now()); got.After(clk.Now()) {
		t.Errorf("packet buffered 5s after the last flush: NextTick = %v, want now (%v) or earlier", got.Sub(t0), clk.Now().Sub(t0))
	}

	w.Close()
	check("closed", time.Time{})
}

// TestNextTickRetry: after a disk error drops the current segment, the
// retry to start a new one is due.
func TestNextTickRetry(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("skipping: no /dev/full: %v", err)
	}
	defer full.Close()
	clk := &fakeClock{t: t0}
	w := newTestWriter(t, Config{}, clk)
	w.WritePacket(0, clk.Now(), 60, testFrame(60))
	real := w.cur.f
	defer real.Close()
	w.cur.f = full
	w.Flush() // fails: the segment is sealed with what reached the disk, and dropped
	if w.cur != nil {
		t.Fatal("the segment survived a failed flush")
	}
	if got, want := w.NextTick(clk.Now()), t0.Add(retryMin); !got.Equal(want) {
		t.Errorf("NextTick after a disk error = %v, want the retry at %v", got.Sub(t0), want.Sub(t0))
	}
	// When pruning made room the retry is asked for at once (fail sets
	// retryAt to now); after a Tick that failed that way, the next retry
	// still waits retryMin, so a disk that stays full is not retried (and
	// the ring pruned) back to back.
	saved := w.retryAt
	w.lastTick, w.retryAt = clk.Now(), clk.Now()
	if got, want := w.NextTick(clk.Now()), clk.Now().Add(retryMin); !got.Equal(want) {
		t.Errorf("NextTick right after a Tick that asked for an immediate retry = %v, want %v", got.Sub(t0), want.Sub(t0))
	}
	w.retryAt = saved
	clk.t = w.NextTick(clk.Now())
	w.Tick(clk.Now())
	if w.cur == nil {
		t.Error("no new segment after ticking at the retry time")
	}
	w.Close()
}

// TestSegmentContents reads a sealed segment back and checks the headers,
// packets and statistics blocks, with pcapgo and with tshark.
func TestSegmentContents(t *testing.T) {
	clk := &fakeClock{t: t0}
	w := newTestWriter(t, Config{}, clk)
	type pkt struct {
		Iface   int
		TS      time.Time
		Len     int
		CapLen  int
		Payload []byte
	}
	var want []pkt
	for i := range 10 {
		clk.Advance(time.Millisecond + time.Duration(i)) // exercise ns timestamps
		n := 42 + i
		want = append(want, pkt{Iface: i % 2, TS: clk.Now(), Len: n + 18, CapLen: n, Payload: testFrame(n)})
		if err := w.WritePacket(i%2, clk.Now(), n+18, testFrame(n)); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(time.Second)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	files := segmentFiles(t, w.cfg.Dir)
	if len(files) != 1 {
		t.Fatalf("files = %v", files)
	}
	f, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stats := map[int]pcapgo.NgInterfaceStatistics{}
	r, err := pcapgo.NewNgReader(f, pcapgo.NgReaderOptions{StatisticsCallback: func(i int, s pcapgo.NgInterfaceStatistics) { stats[i] = s }})
	if err != nil {
		t.Fatal(err)
	}
	var got []pkt
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, pkt{Iface: ci.InterfaceIndex, TS: ci.Timestamp.UTC(), Len: ci.Length, CapLen: ci.CaptureLength, Payload: data})
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("packets (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(pcapgo.NgSectionInfo{Hardware: "", OS: "", Application: "arpbox test", Comment: "captured on host testhost"}, r.SectionInfo(),
		cmpIgnoreHWOS); diff != "" {
		t.Errorf("section (-want +got):\n%s", diff)
	}
	for i, want := range testIfaces {
		ifc, err := r.Interface(i)
		if err != nil {
			t.Fatal(err)
		}
		got := Interface{Name: ifc.Name, Description: ifc.Description, Filter: ifc.Filter, OS: ifc.OS, SnapLen: int(ifc.SnapLength)}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("interface %d (-want +got):\n%s", i, diff)
		}
		if ifc.LinkType != layers.LinkTypeEthernet || ifc.TimestampResolution != 9 {
			t.Errorf("interface %d: link type %v, tsresol %v", i, ifc.LinkType, ifc.TimestampResolution)
		}
		wantStats := pcapgo.NgInterfaceStatistics{
			LastUpdate: t0.Add(10*time.Millisecond + 45 + time.Second), StartTime: t0, EndTime: t0.Add(10*time.Millisecond + 45 + time.Second),
			PacketsReceived: uint64(1000 + i), PacketsDropped: uint64(i),
		}
		gs := stats[i]
		gs.LastUpdate, gs.StartTime, gs.EndTime = gs.LastUpdate.UTC(), gs.StartTime.UTC(), gs.EndTime.UTC()
		if diff := cmp.Diff(wantStats, gs); diff != "" {
			t.Errorf("interface %d statistics (-want +got):\n%s", i, diff)
		}
	}
	if out := tsharkRead(t, files[0], "-T", "fields", "-e", "frame.interface_name", "-e", "frame.len", "-e", "frame.cap_len", "-e", "frame.time_epoch"); out != "" {
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 10 || !strings.HasPrefix(lines[1], "eth2\t61\t43\t") {
			t.Errorf("tshark fields:\n%s", out)
		}
	}
	capinfos(t, files...)
}

var cmpIgnoreHWOS = cmp.FilterPath(func(p cmp.Path) bool {
	s := p.String()
	return s == "Hardware" || s == "OS"
}, cmp.Ignore())

// TestWritePacketAllocs proves the hot path does not allocate.
func TestWritePacketAllocs(t *testing.T) {
	clk := &fakeClock{t: t0}
	w := newTestWriter(t, Config{SegmentBytes: 64 << 20, MaxBytes: 128 << 20}, clk)
	frame := testFrame(60)
	ts := t0
	allocs := testing.AllocsPerRun(20000, func() {
		ts = ts.Add(time.Microsecond)
		w.WritePacket(1, ts, 60, frame)
	})
	if allocs != 0 {
		t.Errorf("WritePacket: %v allocations per packet, want 0", allocs)
	}
	w.Close()
}

func TestWriterMisuse(t *testing.T) {
	w := NewWriter(Config{Dir: t.TempDir()}, testIfaces, Options{})
	if err := w.WritePacket(0, t0, 60, testFrame(60)); err != ErrClosed {
		t.Errorf("WritePacket before Open = %v, want ErrClosed", err)
	}
	if err := w.Tick(t0); err != ErrClosed {
		t.Errorf("Tick before Open = %v, want ErrClosed", err)
	}
	if err := w.Open(); err != nil {
		t.Fatal(err)
	}
	if err := w.WritePacket(2, t0, 60, testFrame(60)); err == nil {
		t.Error("WritePacket to interface 2 of 2: no error")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.WritePacket(0, t0, 60, testFrame(60)); err != ErrClosed {
		t.Errorf("WritePacket after Close = %v, want ErrClosed", err)
	}
	capinfos(t, segmentFiles(t, w.cfg.Dir)...)
	if err := NewWriter(Config{Dir: t.TempDir(), SegmentBytes: 10}, testIfaces, Options{}).Open(); err == nil || !strings.Contains(err.Error(), "segment_size:") {
		t.Errorf("Open with bad config = %v", err)
	}
}

// BenchmarkWritePacket measures the hot path with 60-byte ARP frames into
// a real file on the test's temporary directory (disk) and on a RAM file
// system (CPU and memory copies only), with the default 10MiB segments:
// rotation, background fsync and pruning included.
func BenchmarkWritePacket(b *testing.B) {
	for _, fs := range []struct {
		name string
		dir  func(testing.TB) string
	}{{"disk", func(tb testing.TB) string { return tb.TempDir() }}, {"ram", fastTempDir}} {
		b.Run(fs.name, func(b *testing.B) {
			clk := &fakeClock{t: t0}
			w := newTestWriter(b, Config{Dir: fs.dir(b), SegmentBytes: 10 << 20, MaxBytes: 100 << 20}, clk)
			frame := testFrame(60)
			ts := t0
			b.ReportAllocs()
			b.SetBytes(int64(epbLen(60)))
			b.ResetTimer()
			for i := range b.N {
				ts = ts.Add(time.Microsecond)
				w.WritePacket(i&1, ts, 60, frame)
			}
			b.StopTimer()
			w.Close()
		})
	}
}

// BenchmarkNgWriterDiscard is pcapgo's NgWriter.WritePacket into a buffer
// written to io.Discard, for comparison with our packet block encoder.
func BenchmarkNgWriterDiscard(b *testing.B) {
	bw := bufio.NewWriterSize(io.Discard, bufSize)
	ngi := func(ifc Interface) pcapgo.NgInterface {
		return pcapgo.NgInterface{Name: ifc.Name, LinkType: layers.LinkTypeEthernet, TimestampResolution: 9, SnapLength: uint32(ifc.SnapLen)}
	}
	ngw, err := pcapgo.NewNgWriterInterface(bw, ngi(testIfaces[0]), pcapgo.NgWriterOptions{})
	if err != nil {
		b.Fatal(err)
	}
	ngw.AddInterface(ngi(testIfaces[1]))
	frame := testFrame(60)
	ci := gopacket.CaptureInfo{Timestamp: t0, CaptureLength: 60, Length: 60}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		ci.Timestamp = ci.Timestamp.Add(time.Microsecond)
		ci.InterfaceIndex = i & 1
		ngw.WritePacket(ci, frame)
	}
}

// BenchmarkEPBDevNull is our packet block encoder with the segment file
// swapped for /dev/null: the like-for-like comparison with
// BenchmarkNgWriterDiscard.
func BenchmarkEPBDevNull(b *testing.B) {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Skip(err)
	}
	defer null.Close()
	clk := &fakeClock{t: t0}
	w := newTestWriter(b, Config{SegmentBytes: 4 << 30, MaxBytes: 8 << 30}, clk)
	f := w.cur.f
	w.cur.f = null
	frame := testFrame(60)
	ts := t0
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		ts = ts.Add(time.Microsecond)
		w.WritePacket(i&1, ts, 60, frame)
	}
	b.StopTimer()
	w.buf = w.buf[:0]
	w.cur.f = f
	w.Close()
}

// TestStatsConcurrent reads Stats from another goroutine while the owner
// writes (run with -race).
func TestStatsConcurrent(t *testing.T) {
	clk := &fakeClock{t: t0}
	w := newTestWriter(t, Config{SegmentBytes: 64 << 10}, clk)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 1000 {
			_ = w.Stats()
		}
	}()
	for i := range 5000 {
		w.WritePacket(0, clk.Now(), 100, testFrame(100))
		if i%100 == 0 {
			clk.Advance(200 * time.Millisecond)
			w.Tick(clk.Now())
		}
	}
	<-done
	w.Close()
	if st := w.Stats(); st.PacketsWritten != 5000 || st.SegmentsSealed < 5 {
		t.Errorf("stats %+v", st)
	}
}

// TestLatePacketsWidenTheName: frames that waited in a stalled pipeline and
// reach a segment opened after they were captured make the sealed name start
// at the oldest of them, so that choosing segments by name for a time window
// still finds them.
func TestLatePacketsWidenTheName(t *testing.T) {
	clk := &fakeClock{t: t0}
	w := newTestWriter(t, Config{SegmentAge: time.Minute}, clk)
	w.WritePacket(0, clk.Now(), 60, testFrame(60))
	clk.Advance(time.Minute)
	w.Tick(clk.Now()) // rotates: the second segment opens at t0+1m
	late := t0.Add(55 * time.Second)
	w.WritePacket(0, late, 60, testFrame(60)) // captured 5 s before that
	w.WritePacket(0, clk.Now(), 60, testFrame(60))
	clk.Advance(time.Second)
	w.Close()
	segs, err := List(w.cfg.Dir)
	if err != nil || len(segs) != 2 {
		t.Fatalf("List = %v, %v", segs, err)
	}
	if got, want := segs[1].Start, late.UTC().Truncate(time.Millisecond); !got.Equal(want) {
		t.Errorf("second segment starts %v, want the late packet's %v", got, want)
	}
	if got := Window(segs, late, late); len(got) != 2 || got[1].Seq != segs[1].Seq {
		t.Errorf("Window at the late packet = %v, want both segments", got)
	}
	if !segs[0].Start.Equal(t0.UTC().Truncate(time.Millisecond)) {
		t.Errorf("first segment starts %v, want %v", segs[0].Start, t0)
	}
}
