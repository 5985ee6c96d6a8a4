package ring

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestNamesRoundTrip(t *testing.T) {
	start := t0
	end := t0.Add(5*time.Minute + 864*time.Millisecond + 999*time.Microsecond)
	tests := []struct {
		name string
		want Segment
	}{
		{sealedName(42, start, end), Segment{Seq: 42, Start: start, End: end.Truncate(time.Millisecond)}},
		{partName(7, start), Segment{Seq: 7, Start: start, Current: true}},
		{sealedName(123456789, start, end), Segment{Seq: 123456789, Start: start, End: end.Truncate(time.Millisecond)}},
	}
	for _, tt := range tests {
		got, ok := parseName(tt.name)
		if !ok {
			t.Errorf("parseName(%q) failed", tt.name)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("parseName(%q) (-want +got):\n%s", tt.name, diff)
		}
	}
	if got, want := sealedName(42, start, end), "arp-00000042-20261126T012633.123Z-20261126T013133.987Z.pcapng"; got != want {
		t.Errorf("sealedName = %q, want %q", got, want)
	}
	if got, want := partName(42, start.In(time.FixedZone("X", 3600))), "arp-00000042-20261126T012633.123Z.pcapng.part"; got != want {
		t.Errorf("partName = %q, want %q", got, want)
	}
}

func TestParseNameRejects(t *testing.T) {
	for _, name := range []string{
		"", "arp-.pcapng", "foo.pcapng", "arp-00000001.pcapng",
		"arp-0000001-20261126T012633.123Z-20261126T013133.987Z.pcapng", // 7 digits
		"arp-00000001-20261126T012633.123Z.pcapng",                     // sealed without end
		"arp-00000001-20261126T012633.123Z-20261126T013133.987Z.pcapng.part",
		"arp-00000001-20261126T012633Z-20261126T013133.987Z.pcapng",
		"arp-0000000x-20261126T012633.123Z-20261126T013133.987Z.pcapng",
		"arp-00000001-20261126T012633.123Z-20261126T013133.987Z.pcap",
	} {
		if s, ok := parseName(name); ok {
			t.Errorf("parseName(%q) = %+v, want failure", name, s)
		}
	}
}

func TestNamesSortInTimeOrder(t *testing.T) {
	var names []string
	tm := t0
	for seq := uint64(0); seq < 2000; seq += 37 {
		end := tm.Add(time.Duration(seq) * time.Millisecond)
		names = append(names, sealedName(seq, tm, end))
		tm = end
	}
	names = append(names, partName(2001, tm))
	sorted := slices.Clone(names)
	slices.Sort(sorted)
	if diff := cmp.Diff(names, sorted); diff != "" {
		t.Errorf("names do not sort in creation order (-creation +sorted):\n%s", diff)
	}
}

func TestList(t *testing.T) {
	dir := t.TempDir()
	files := []string{
		partName(12, t0.Add(2*time.Minute)),
		sealedName(3, t0, t0.Add(time.Minute)),
		sealedName(11, t0.Add(time.Minute), t0.Add(2*time.Minute)),
		"README", "arp-junk.pcapng", "capture.pcapng",
	}
	for i, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f), make([]byte, i*10), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, sealedName(1, t0, t0)), 0o700); err != nil {
		t.Fatal(err)
	}
	got, err := List(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []Segment{
		{Path: filepath.Join(dir, files[1]), Seq: 3, Start: t0, End: t0.Add(time.Minute), Size: 10},
		{Path: filepath.Join(dir, files[2]), Seq: 11, Start: t0.Add(time.Minute), End: t0.Add(2 * time.Minute), Size: 20},
		{Path: filepath.Join(dir, files[0]), Seq: 12, Start: t0.Add(2 * time.Minute), Current: true, Size: 0},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
	if _, err := List(filepath.Join(dir, "missing")); err == nil {
		t.Error("List of a missing dir: no error")
	}
}

func TestWindow(t *testing.T) {
	m := func(d int) time.Time { return t0.Add(time.Duration(d) * time.Minute) }
	segs := []Segment{
		{Seq: 1, Start: m(0), End: m(5)},
		{Seq: 2, Start: m(5), End: m(10)},
		{Seq: 3, Start: m(10), End: m(15)},
		{Seq: 4, Start: m(15), Current: true},
	}
	tests := []struct {
		name     string
		from, to time.Time
		want     []uint64
	}{
		{"all", m(-1), m(100), []uint64{1, 2, 3, 4}},
		{"inside one", m(6), m(7), []uint64{2}},
		{"exact segment", m(5).Add(TimestampSlack), m(10).Add(-TimestampSlack - time.Millisecond), []uint64{2}},
		{"boundary touches both", m(5), m(5), []uint64{1, 2}},
		{"end inclusive", m(10).Add(time.Millisecond), m(10).Add(time.Millisecond), []uint64{2, 3}},
		{"just after end ms", m(10).Add(2 * time.Millisecond), m(10).Add(2 * time.Millisecond), []uint64{3}},
		{"slack before start", m(10).Add(-TimestampSlack), m(10).Add(-TimestampSlack), []uint64{2, 3}},
		{"before slack", m(-1), m(0).Add(-TimestampSlack - 1), nil},
		{"current open ended", m(200), m(300), []uint64{4}},
		{"spanning", m(7), m(12), []uint64{2, 3}},
		{"empty ring", m(0), m(1), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := segs
			if tt.name == "empty ring" {
				in = nil
			}
			var got []uint64
			for _, s := range Window(in, tt.from, tt.to) {
				got = append(got, s.Seq)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Window(%v, %v) (-want +got):\n%s", tt.from, tt.to, diff)
			}
		})
	}
}
