package ring

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// A ring directory removed under a running writer (rm -rf, a cleanup job)
// would otherwise swallow every frame: the current segment is an unlinked
// file that still takes writes, new segments cannot be created, and the lock
// went with the directory, so a second arpbox could start on the same ring.
// The writer therefore checks that its lock file is still the one it
// locked: on every Tick, and while it records, whenever the directory or
// the lock file had an event (Linux: inotify, see dirWatch) or, where
// there are no such events, at most once per FlushInterval. When it is
// not, it recreates the directory, takes a new lock, counts what was lost
// and starts a new segment.

// checkDir looks for a removed ring directory (unless always: after an
// event, or at most once per FlushInterval without events) and recreates
// it; it reports whether it did.
func (w *Writer) checkDir(now time.Time, always bool) bool {
	if w.lockF == nil || w.recreating {
		return false
	}
	m := w.mono()
	if !always && !w.dirCheckDue(m) {
		return false
	}
	w.dirChecked = m
	if !w.dirGone() {
		return false
	}
	w.recreate(now)
	return true
}

// dirCheckDue reports whether the directory is worth a look at monotonic
// time m: an event came for it (inotify), or, without events, the last
// look is FlushInterval old (or the clock went back).
func (w *Writer) dirCheckDue(m time.Duration) bool {
	if w.dirw != nil {
		return w.dirw.takeChanged()
	}
	return m-w.dirChecked >= w.cfg.FlushInterval || m < w.dirChecked
}

// dirGone reports whether the ring directory's lock file is gone or is no
// longer the file the writer locked.
func (w *Writer) dirGone() bool {
	if w.lockInfo == nil {
		return false
	}
	fi, err := os.Stat(lockPath(w.cfg.Dir))
	if err != nil {
		return errors.Is(err, fs.ErrNotExist)
	}
	return !os.SameFile(fi, w.lockInfo)
}

// recreate handles a ring directory that went away: the directory and
// its lock are made again, the current segment (an unlinked file now) is
// saved into it where it can be reopened (else its packets count as
// dropped), the sealed segments are forgotten (counted as lost), and a new
// segment is started. Logged once per occurrence.
func (w *Writer) recreate(now time.Time) {
	w.recreating = true
	defer func() { w.recreating = false }()
	w.st.DirRecreated++
	var lostPackets uint64
	var rescue *os.File // the removed current segment, still readable
	cur := w.cur
	if cur != nil {
		lostPackets = cur.packets
		ok := len(w.buf) == 0 || w.writeBuf() == nil
		w.cur = nil
		if ok {
			if f, err := reopenForRead(cur.f); err == nil {
				rescue = f
			}
		}
		_ = cur.f.Close()
		w.buf = w.buf[:0]
	}
	_ = w.reapPending(true) // their renames fail: counted as write errors
	lostSegs := uint64(0)
	for _, rs := range w.sealed {
		if _, err := os.Lstat(rs.Path); errors.Is(err, fs.ErrNotExist) {
			lostSegs++
		}
	}
	w.sealed, w.sealedBytes = nil, 0
	w.unlockDir()
	err := w.relock()
	if rescue != nil {
		if err == nil && w.rescue(rescue, cur, now) {
			lostPackets = 0
		}
		rescue.Close()
	}
	w.st.PacketsDropped += lostPackets
	w.st.SegmentsLost += lostSegs
	w.log.Error("ring: the ring directory was removed under the writer; recreated it and recording goes on",
		"lost_packets", lostPackets, "lost_segments", lostSegs, "recreated_total", w.st.DirRecreated, "relock_err", err)
	if err != nil {
		w.scheduleRetry(now)
		return
	}
	// The clock record went with the directory: say where the timeline
	// stands for the segments to come.
	w.appendClock(ClockRecord{Seq: w.seq, At: now.Round(0), Offset: w.offset})
	w.backoff, w.retryAt = 0, time.Time{}
	_ = w.start(now) // failure logged and counted; retried from Tick
}

// relock makes the ring directory, takes its lock, and takes over whatever
// segments it holds (another process may have put some there).
func (w *Writer) relock() error {
	if err := os.MkdirAll(w.cfg.Dir, 0o750); err != nil {
		return fmt.Errorf("ring: recreate %s: %w", w.cfg.Dir, err)
	}
	if err := w.lockRing(); err != nil {
		return err
	}
	w.dirChecked = w.mono()
	segs, err := List(w.cfg.Dir)
	if err != nil {
		return nil // the directory is ours; listing is retried by nobody, segments stay unknown
	}
	for _, s := range segs {
		w.seq = max(w.seq, s.Seq+1)
		if s.Current {
			continue
		}
		w.sealed = append(w.sealed, &ringSeg{Segment: s})
		w.sealedBytes += s.Size
	}
	return nil
}

// rescue copies the removed current segment s (open as f; whole blocks up
// to s.written) into the recreated directory as a sealed segment. It
// reports whether it did.
func (w *Writer) rescue(f *os.File, s *segment, now time.Time) bool {
	rs := &ringSeg{Segment: Segment{
		Path: filepath.Join(w.cfg.Dir, sealedName(s.seq, s.nameStart(), now)),
		Seq:  s.seq, Start: s.nameStart().UTC().Truncate(time.Millisecond),
		End: now.UTC().Truncate(time.Millisecond), Size: s.written,
	}}
	part := filepath.Join(w.cfg.Dir, partName(s.seq, s.start))
	out, err := createSegment(part)
	if err == nil {
		_, err = io.Copy(out, io.LimitReader(f, s.written))
		if serr := out.Sync(); err == nil {
			err = serr
		}
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(part, rs.Path)
		}
	}
	if err != nil {
		os.Remove(part)
		w.log.Warn("ring: could not save the current segment of the removed ring directory", "err", err)
		return false
	}
	_ = syncDir(w.cfg.Dir)
	// Sealed before the segments that follow: first in the list.
	w.sealed = append([]*ringSeg{rs}, w.sealed...)
	w.sealedBytes += rs.Size
	w.st.SegmentsSealed++
	return true
}
