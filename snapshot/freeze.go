package snapshot

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/arpbox/arpbox/ring"
)

// pin is one ring segment held in a job's staging directory.
type pin struct {
	Seq    uint64
	Name   string // ring name when pinned
	Path   string // path in the staging directory
	Start  time.Time
	Copied bool // copied rather than hard-linked (different filesystem)
}

// ringInfo describes the ring as seen at freeze time.
type ringInfo struct {
	Segments     int
	Bytes        int64
	OldestStart  time.Time
	NewestEnd    time.Time
	OldestSeq    uint64
	FirstPinSeq  uint64
	FirstPinTime time.Time // start of the oldest pinned segment
	firstPinTL   time.Time // the same on the recorder's timeline
}

// freezeInfo records how the freeze went.
type freezeInfo struct {
	At       time.Time
	Duration time.Duration
	Method   string // "hardlink" or "copy"
	Linked   int
	Copied   int
}

// freezeBefore pins the segments overlapping [from, T] into the job's
// staging directory. It is the O(1) part of a snapshot: one readdir and one
// hard link per segment.
func (s *Snapshotter) freezeBefore(j *job) error {
	start := time.Now()
	j.freeze.At = s.opts.Now()
	s.timeline(j)
	if err := os.MkdirAll(s.cfg.Dir, dirMode); err != nil {
		return fmt.Errorf("create snapshots dir: %w", err)
	}
	j.freezeDir = filepath.Join(s.cfg.Dir, ".freeze-"+j.id)
	if err := os.Mkdir(j.freezeDir, dirMode); err != nil {
		return fmt.Errorf("create staging dir in snapshots dir %s: %w", s.cfg.Dir, err)
	}
	j.pins = map[uint64]pin{}
	segs, err := ring.List(s.ringDir)
	if err != nil {
		os.RemoveAll(j.freezeDir)
		return err
	}
	win := j.window(segs, j.tlFrom, j.tlT)
	if err := s.pinAll(j, win); err != nil {
		os.RemoveAll(j.freezeDir)
		return err
	}
	j.freeze.Duration = time.Since(start)
	j.freeze.Method = "hardlink"
	if j.freeze.Copied > 0 {
		j.freeze.Method = "copy"
	}
	s.log.Info("snapshot frozen", "id", j.id, "trigger", j.ev.Trigger, "segments", len(win),
		"method", j.freeze.Method, "took", j.freeze.Duration)

	// What the ring holds, to tell whether it could keep `before`.
	j.ring.Segments = len(segs)
	for _, sg := range segs {
		j.ring.Bytes += sg.Size
	}
	if len(segs) > 0 {
		j.ring.OldestStart = segs[0].Start
		j.ring.OldestSeq = segs[0].Seq
		j.ring.NewestEnd = j.freeze.At
	}
	if len(win) > 0 {
		j.ring.FirstPinSeq = win[0].Seq
		j.ring.FirstPinTime = win[0].Start
		j.ring.firstPinTL = win[0].Start.Add(-j.segOffset(win[0].Seq))
		// Drop counters at the end of the segment before the window are the
		// baseline for the window's drop counts.
		for i := len(segs) - 1; i >= 0; i-- {
			if segs[i].Seq < win[0].Seq && !segs[i].Current {
				st, err := trailingStats(segs[i].Path)
				if err != nil {
					s.log.Debug("no baseline interface statistics", "segment", filepath.Base(segs[i].Path), "err", err)
				} else if len(st) > 0 {
					j.baseStats, j.baseSeg = st, filepath.Base(segs[i].Path)
				}
				break
			}
		}
	}
	return nil
}

// pinAll pins each segment, re-listing once for segments renamed (sealed)
// or pruned between the listing and the link.
func (s *Snapshotter) pinAll(j *job, segs []ring.Segment) error {
	var gone []uint64
	for _, sg := range segs {
		err := s.pinOne(j, sg)
		if errors.Is(err, fs.ErrNotExist) {
			gone = append(gone, sg.Seq)
			continue
		}
		if err != nil {
			return err
		}
	}
	if len(gone) == 0 {
		return nil
	}
	again, err := ring.List(s.ringDir)
	if err != nil {
		return err
	}
	for _, seq := range gone {
		found := false
		for _, sg := range again {
			if sg.Seq == seq {
				found = true
				if err := s.pinOne(j, sg); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return err
				}
			}
		}
		if !found {
			s.log.Warn("ring segment pruned before it could be frozen", "id", j.id, "seq", seq)
		}
	}
	return nil
}

// pinOne hard-links (or, across filesystems, copies) one segment.
// A segment already hard-linked is skipped: the link follows the file as it
// grows and is renamed. A copied one is copied again to get its new data.
func (s *Snapshotter) pinOne(j *job, sg ring.Segment) error {
	if p, ok := j.pins[sg.Seq]; ok && !p.Copied {
		return nil
	}
	name := filepath.Base(sg.Path)
	dst := filepath.Join(j.freezeDir, fmt.Sprintf("%020d.pcapng", sg.Seq))
	p := pin{Seq: sg.Seq, Name: name, Path: dst, Start: sg.Start}
	if old, ok := j.pins[sg.Seq]; ok && old.Copied {
		if _, err := copyFile(sg.Path, dst); err != nil {
			return fmt.Errorf("copy ring segment %s: %w", name, err)
		}
		p.Copied = true
		j.pins[sg.Seq] = p
		return nil
	}
	err := os.Link(sg.Path, dst)
	if err == nil {
		j.freeze.Linked++
		j.pins[sg.Seq] = p
		return nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Stat(sg.Path); errors.Is(serr, fs.ErrNotExist) {
			return err // renamed or pruned by the ring: caller re-lists
		}
		return fmt.Errorf("hard-link ring segment %s into %s: %w", name, j.freezeDir, err)
	}
	// Typically EXDEV: the ring and snapshots.dir are on different
	// filesystems. Copying is correct but not O(1).
	if j.freeze.Copied == 0 {
		s.log.Warn("cannot hard-link ring segments into snapshots.dir; copying instead (put snapshots.dir on the ring's filesystem for an O(1) freeze)",
			"id", j.id, "segment", name, "err", err)
	}
	if _, err := copyFile(sg.Path, dst); err != nil {
		return fmt.Errorf("copy ring segment %s into %s: %w", name, j.freezeDir, err)
	}
	p.Copied = true
	j.freeze.Copied++
	j.pins[sg.Seq] = p
	return nil
}

// runFreezers asks every Freezer collector for the state at T.
func (s *Snapshotter) runFreezers(j *job) {
	j.collErrs = map[string]string{}
	for _, c := range s.opts.Collectors {
		fz, ok := c.(Freezer)
		if !ok {
			j.collectors = append(j.collectors, c)
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), freezerTimeout)
		frozen, err := fz.Freeze(ctx, j.ev)
		cancel()
		if err != nil {
			j.collErrs[c.Name()] = "at T: " + err.Error()
			s.log.Warn("collector could not record state at T", "id", j.id, "collector", c.Name(), "err", err)
		}
		if frozen != nil {
			j.collectors = append(j.collectors, frozen)
		}
	}
}

// freezeAfter pins the segments overlapping [T, T+after] not pinned yet.
func (s *Snapshotter) freezeAfter(j *job) error {
	segs, err := ring.List(s.ringDir)
	if err != nil {
		return err
	}
	s.rereadClock(j)
	return s.pinAll(j, j.window(segs, j.tlT, j.tlTo))
}

// inputs returns the pinned segments in sequence order.
func (j *job) inputs() []mergeInput {
	var in []mergeInput
	for _, p := range j.pins {
		off := j.segOffset(p.Seq)
		in = append(in, mergeInput{Path: p.Path, Seq: p.Seq, Start: p.Start.Add(-off), Offset: off, StepAfter: j.stepInto(p.Seq)})
	}
	sort.Slice(in, func(a, b int) bool { return in[a].Seq < in[b].Seq })
	return in
}
