package snapshot

import (
	"time"

	"github.com/arpbox/arpbox/bundle"
	"github.com/arpbox/arpbox/ring"
)

// A step of the wall clock (an NTP correction, an operator's date -s)
// must not empty a bundle: packets are stamped with the wall clock, so
// after a step back of 5 minutes the minutes before T carry times the
// wall-clock window [T-before, T+after] does not hold. The ring records
// each step it detects (ring.ClockRecord: from segment Seq on, wall clock
// minus the recorder's monotonic timeline is Offset). The snapshotter
// therefore chooses the window on that timeline: T and the window are
// moved by the offset current at the request, each segment and each of its
// packets by the offset it was recorded under, and a packet whose time
// jumps within a segment (stamped by the kernel in the moment before the
// ring noticed the step) is moved with the jump. Packets keep their wall
// times in the capture (time runs back at the step, as it did); the
// manifest names the steps.

// timeline places the job's window on the recorder's timeline.
func (s *Snapshotter) timeline(j *job) {
	recs, err := ring.ReadClockRecord(s.ringDir)
	if err != nil {
		s.log.Warn("cannot read the ring's clock record; choosing the window by wall clock", "err", err)
	}
	j.clock = recs
	if n := len(recs); n > 0 {
		j.offset = recs[n-1].Offset
	}
	j.tlT = j.ev.Time.Add(-j.offset)
	j.tlFrom, j.tlTo = j.tlT.Add(-j.ev.Time.Sub(j.from)), j.tlT.Add(j.to.Sub(j.ev.Time)) // the job's window: the settings in force, or the event's own (a peer's)
}

// rereadClock picks up steps recorded since the request (during the
// after-window).
func (s *Snapshotter) rereadClock(j *job) {
	if recs, err := ring.ReadClockRecord(s.ringDir); err == nil && len(recs) >= len(j.clock) {
		j.clock = recs
	}
}

// segOffset is the offset segment seq was recorded under.
func (j *job) segOffset(seq uint64) time.Duration { return ring.OffsetAt(j.clock, seq) }

// window returns the segments of segs that may hold packets within
// [from, to] on the timeline: ring.Window on each segment's shifted times,
// and the segments on both sides of a step that falls within the window.
func (j *job) window(segs []ring.Segment, from, to time.Time) []ring.Segment {
	var out []ring.Segment
	for _, sg := range segs {
		off := j.segOffset(sg.Seq)
		sh := sg
		sh.Start = sg.Start.Add(-off)
		if !sg.End.IsZero() {
			sh.End = sg.End.Add(-off)
		}
		if len(ring.Window([]ring.Segment{sh}, from, to)) == 1 || j.nearStep(sg.Seq, from, to) {
			out = append(out, sg)
		}
	}
	return out
}

// nearStep reports whether seq is the last segment before, or the first
// after, a step recorded within [from, to] (with slack) on the timeline.
func (j *job) nearStep(seq uint64, from, to time.Time) bool {
	for _, r := range j.clock {
		if r.Start || r.Step == 0 || (seq != r.Seq && seq+1 != r.Seq) {
			continue
		}
		at := r.At.Add(-r.Offset)
		if !at.Before(from.Add(-ring.TimestampSlack)) && !at.After(to.Add(ring.TimestampSlack)) {
			return true
		}
	}
	return false
}

// stepInto returns the step recorded right after segment seq (0 if none):
// packets of seq stamped after the step carry it.
func (j *job) stepInto(seq uint64) time.Duration {
	for _, r := range j.clock {
		if !r.Start && r.Seq == seq+1 {
			return r.Step
		}
	}
	return 0
}

// manifestSteps lists the steps recorded among the pinned segments (and
// right after the last).
func (j *job) manifestSteps() []bundle.ManifestClockStep {
	if len(j.pins) == 0 {
		return nil
	}
	lo, hi := ^uint64(0), uint64(0)
	for seq := range j.pins {
		lo, hi = min(lo, seq), max(hi, seq)
	}
	var out []bundle.ManifestClockStep
	for _, r := range j.clock {
		if r.Start || r.Step == 0 || r.Seq < lo || r.Seq > hi+1 {
			continue
		}
		out = append(out, bundle.ManifestClockStep{At: r.At.UTC(), Step: r.Step.String(), FirstSegment: r.Seq})
	}
	return out
}
