package ring

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Segment file names:
//
//	sealed:  arp-<seq %08d>-<startUTC>-<endUTC>.pcapng
//	current: arp-<seq %08d>-<startUTC>.pcapng.part
//
// with times formatted as timeLayout (UTC, milliseconds, truncated).
const (
	namePrefix   = "arp-"
	sealedSuffix = ".pcapng"
	partSuffix   = ".pcapng.part"
	timeLayout   = "20060102T150405.000Z"
)

// Segment is one segment file of a ring.
type Segment struct {
	Path    string
	Seq     uint64
	Start   time.Time // wall clock when the segment was opened (UTC, ms)
	End     time.Time // wall clock when it was sealed; zero for the current segment
	Size    int64
	Current bool // still being written (name ends in .part)
}

func sealedName(seq uint64, start, end time.Time) string {
	return fmt.Sprintf("%s%08d-%s-%s%s", namePrefix, seq, start.UTC().Format(timeLayout), end.UTC().Format(timeLayout), sealedSuffix)
}

func partName(seq uint64, start time.Time) string {
	return fmt.Sprintf("%s%08d-%s%s", namePrefix, seq, start.UTC().Format(timeLayout), partSuffix)
}

// parseName parses a segment file name (without directory).
func parseName(name string) (Segment, bool) {
	var s Segment
	rest, ok := strings.CutPrefix(name, namePrefix)
	if !ok {
		return s, false
	}
	if r, ok := strings.CutSuffix(rest, partSuffix); ok {
		rest, s.Current = r, true
	} else if r, ok := strings.CutSuffix(rest, sealedSuffix); ok {
		rest = r
	} else {
		return s, false
	}
	parts := strings.Split(rest, "-")
	want := 3
	if s.Current {
		want = 2
	}
	if len(parts) != want {
		return s, false
	}
	if len(parts[0]) < 8 {
		return s, false
	}
	seq, err := strconv.ParseUint(parts[0], 10, 64)
	if err != nil {
		return s, false
	}
	s.Seq = seq
	if s.Start, err = time.Parse(timeLayout, parts[1]); err != nil {
		return s, false
	}
	if !s.Current {
		if s.End, err = time.Parse(timeLayout, parts[2]); err != nil {
			return s, false
		}
	}
	return s, true
}

// List returns the segments in dir sorted by sequence number (which is
// creation order). It reads the directory and stats nothing else: sizes come
// from the directory entries. Files that are not segments are ignored.
//
// Sealed segments are complete pcapng files. A current (.part) segment grows
// block by block but a reader can catch a block half-copied; read it up to
// ValidLength. A segment whose sealing is still finishing in the background
// shows, complete, under its .part name for a moment (with a newer .part
// after it).
//
// A listing is consistent: a segment renamed while the directory was read
// (the background sealer giving a .part its final name) can be missing
// from one readdir, under either name, so List reads the directory again
// (up to listAttempts times in all) when an entry vanished between the
// readdir and its stat, or when the sequence numbers have a gap. (A gap
// can also be real: pruning for free space skips segments a snapshot
// holds. Then the last listing is returned.)
func List(dir string) ([]Segment, error) { return listWith(dir, os.ReadDir) }

// listAttempts bounds the directory reads of one List.
const listAttempts = 3

func listWith(dir string, readDir func(string) ([]fs.DirEntry, error)) ([]Segment, error) {
	for attempt := 1; ; attempt++ {
		segs, moved, err := listOnce(dir, readDir)
		if err != nil {
			return nil, err
		}
		if !moved && !seqGap(segs) || attempt == listAttempts {
			return segs, nil
		}
	}
}

// listOnce reads dir once; moved reports an entry that vanished between
// the readdir and its stat.
func listOnce(dir string, readDir func(string) ([]fs.DirEntry, error)) (segs []Segment, moved bool, err error) {
	ents, err := readDir(dir)
	if err != nil {
		return nil, false, fmt.Errorf("ring: list %s: %w", dir, err)
	}
	segs = make([]Segment, 0, len(ents))
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		s, ok := parseName(e.Name())
		if !ok {
			continue
		}
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			moved = true // renamed or removed while we listed
			continue
		}
		if err != nil {
			return nil, false, fmt.Errorf("ring: list %s: %w", dir, err)
		}
		s.Path = dir + string(os.PathSeparator) + e.Name()
		s.Size = info.Size()
		segs = append(segs, s)
	}
	slices.SortFunc(segs, func(a, b Segment) int {
		if c := cmpUint(a.Seq, b.Seq); c != 0 {
			return c
		}
		return strings.Compare(a.Path, b.Path)
	})
	return segs, moved, nil
}

// seqGap reports whether sorted segs skip a sequence number.
func seqGap(segs []Segment) bool {
	for i := 1; i < len(segs); i++ {
		if segs[i].Seq > segs[i-1].Seq+1 {
			return true
		}
	}
	return false
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Window returns the segments of segs that may hold packets stamped within
// [from, to]. A sealed segment covers [Start-TimestampSlack, End+1ms] (names
// carry truncated milliseconds); a current segment covers everything from
// Start-TimestampSlack on. The order of segs is kept.
func Window(segs []Segment, from, to time.Time) []Segment {
	var out []Segment
	for _, s := range segs {
		if s.Start.Add(-TimestampSlack).After(to) {
			continue
		}
		if !s.Current && !s.End.IsZero() && s.End.Add(time.Millisecond).Before(from) {
			continue
		}
		out = append(out, s)
	}
	return out
}
