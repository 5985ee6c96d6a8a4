package ring

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// ClockStepMin is the smallest difference between the wall clock's and
// the monotonic clock's progress that the Writer calls a step (NTP slews
// by at most 0.5 ms/s, so a second between two readings is never a slew).
const ClockStepMin = time.Second

// clockFile is the ring's clock record: one JSON ClockRecord per line.
const clockFile = ".arpbox-clock.jsonl"

// maxClockRecords bounds the clock record kept over restarts.
const maxClockRecords = 1000

// ClockRecord is one line of the ring's clock record, which the Writer
// appends to when it opens (Start) and when it detects a step of the wall
// clock. Segment names and packet timestamps are wall-clock times; the
// record says how to put them on the writer's own timeline, which advances
// with the monotonic clock: from segment Seq on (until the next record),
// timeline = wall - Offset. A step rotates the segment, so that each
// segment lies on one side of it (packets stamped by the kernel in the
// moment before the writer noticed excepted).
type ClockRecord struct {
	Seq    uint64        `json:"seq"`       // first segment started after the record
	At     time.Time     `json:"at"`        // wall clock when recorded (after the step)
	Step   time.Duration `json:"step_ns"`   // wall minus monotonic progress; 0 in a Start record
	Offset time.Duration `json:"offset_ns"` // wall clock minus the timeline from Seq on
	Start  bool          `json:"start,omitempty"`
}

// ReadClockRecord reads the clock record of the ring in dir, oldest first.
// A ring without one (older arpbox, never stepped) gives none. Malformed
// lines are skipped.
func ReadClockRecord(dir string) ([]ClockRecord, error) {
	f, err := os.Open(filepath.Join(dir, clockFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ring: read clock record: %w", err)
	}
	defer f.Close()
	var out []ClockRecord
	sc := bufio.NewScanner(f)
	for sc.Scan() && len(out) < 10*maxClockRecords {
		var r ClockRecord
		if json.Unmarshal(sc.Bytes(), &r) == nil {
			out = append(out, r)
		}
	}
	return out, sc.Err()
}

// OffsetAt returns the offset (wall minus timeline) of segment seq under
// recs: that of the last record at or before seq, 0 if none.
func OffsetAt(recs []ClockRecord, seq uint64) time.Duration {
	var off time.Duration
	for _, r := range recs {
		if r.Seq > seq {
			break
		}
		off = r.Offset
	}
	return off
}

// clockSample is one reading of both clocks.
type clockSample struct {
	wall time.Time // without its monotonic reading
	mono time.Duration
}

// checkClock compares the wall clock (now) with the monotonic clock since
// the last reading; a step is logged, counted, recorded and rotates the
// current segment.
func (w *Writer) checkClock(now time.Time) {
	cur := clockSample{wall: now.Round(0), mono: w.mono()}
	prev := w.clk
	w.clk = cur
	step := cur.wall.Sub(prev.wall) - (cur.mono - prev.mono)
	if step > -ClockStepMin && step < ClockStepMin {
		return
	}
	w.st.ClockSteps++
	w.offset += step
	w.log.Warn("ring: the wall clock stepped; the segment is rotated and the step recorded for snapshots",
		"step", step, "before", prev.wall.Add(cur.mono-prev.mono), "after", cur.wall, "clock_steps_total", w.st.ClockSteps)
	w.appendClock(ClockRecord{Seq: w.seq, At: cur.wall, Step: step, Offset: w.offset})
	if w.cur != nil {
		// Sealed at the time the old clock would show now, so that its
		// name stays on its side of the step.
		_ = w.seal(now.Add(-step), false)
	}
	w.enforce(now)
	if w.cur == nil && !now.Before(w.retryAt) {
		_ = w.start(now)
	}
}

// startClockRecord writes the Start record of this run, keeping the
// records still needed for the segments on disk (and at most
// maxClockRecords).
func (w *Writer) startClockRecord(now time.Time, segs []Segment) {
	old, _ := ReadClockRecord(w.cfg.Dir)
	oldest := w.seq
	if len(segs) > 0 {
		oldest = segs[0].Seq
	}
	// Keep the last record at or before the oldest segment, and all after.
	first := 0
	for i, r := range old {
		if r.Seq <= oldest {
			first = i
		}
	}
	old = old[first:]
	if len(old) > maxClockRecords-1 {
		old = old[len(old)-(maxClockRecords-1):]
	}
	w.offset = 0
	recs := append(old, ClockRecord{Seq: w.seq, At: now.Round(0).UTC(), Start: true})
	tmp := filepath.Join(w.cfg.Dir, clockFile+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		w.log.Warn("ring: cannot write the clock record", "err", err)
		return
	}
	bw := bufio.NewWriter(f)
	enc := json.NewEncoder(bw)
	for _, r := range recs {
		_ = enc.Encode(r)
	}
	err = bw.Flush()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(w.cfg.Dir, clockFile))
	}
	if err != nil {
		os.Remove(tmp)
		w.log.Warn("ring: cannot write the clock record", "err", err)
	}
}

// appendClock appends one record to the clock record.
func (w *Writer) appendClock(r ClockRecord) {
	r.At = r.At.UTC()
	b, _ := json.Marshal(r)
	f, err := os.OpenFile(filepath.Join(w.cfg.Dir, clockFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err == nil {
		_, err = f.Write(append(b, '\n'))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		w.log.Warn("ring: cannot append to the clock record", "err", err)
	}
}
