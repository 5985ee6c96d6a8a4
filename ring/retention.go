package ring

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// enforce removes the oldest sealed segments while the ring is over any of
// its limits: max_segments, max_size (current segment counted) and min_free.
func (w *Writer) enforce(now time.Time) {
	for len(w.sealed) > 0 {
		// The current segment counts, and so does the one about to be
		// started when there is none.
		n, size := len(w.sealed)+1, w.sealedBytes
		if w.cur != nil {
			size += w.curSize()
		}
		reason := "max_size"
		if w.cfg.MaxSegments > 0 && n > w.cfg.MaxSegments {
			reason = "max_segments"
		} else if size <= w.cfg.MaxBytes {
			break
		}
		if !w.removeOldest(now, reason) {
			return
		}
	}
	if w.cfg.MinFreePercent > 0 || w.cfg.MinFreeBytes > 0 {
		w.keepFree(now, 0, "min_free", false)
	}
}

// minFree returns the bytes min_free asks to keep free on a file system of
// the given size.
func (w *Writer) minFree(total uint64) uint64 {
	need := uint64(max(w.cfg.MinFreeBytes, 0))
	if p := w.cfg.MinFreePercent; p > 0 {
		need = max(need, uint64(float64(total)*p/100))
	}
	return need
}

// keepFree removes the oldest sealed segments until the file system has
// min_free plus extra bytes free. When free space cannot be read it removes
// nothing, or one segment if blind. It reports whether it removed anything.
func (w *Writer) keepFree(now time.Time, extra uint64, reason string, blind bool) bool {
	removed := false
	for len(w.sealed) > 0 {
		free, total, err := w.diskFree(w.cfg.Dir)
		if err != nil {
			if !w.freeErrLog {
				w.log.Warn("ring: cannot read free disk space; min_free not enforced", "err", err)
				w.freeErrLog = true
			}
			if !blind || removed {
				return removed
			}
		} else if free >= w.minFree(total)+extra {
			return removed
		}
		if !w.removeOldest(now, reason) {
			return removed
		}
		removed = true
	}
	return removed
}

// ensureRoom makes room for a whole new segment above min_free before one is
// started, so that a ring on a small file system prunes instead of failing.
func (w *Writer) ensureRoom(now time.Time) {
	w.keepFree(now, uint64(w.cfg.SegmentBytes), "room for next segment", false)
}

// pruneHard reacts to a full disk: it removes the oldest sealed segments
// until a new segment fits above min_free (one segment if free space is
// unknown). It reports whether it removed anything.
func (w *Writer) pruneHard(now time.Time) bool {
	return w.keepFree(now, uint64(w.cfg.SegmentBytes), "disk full", true)
}

// removeOldest deletes the oldest sealed segment. It reports false if the
// file could not be removed (it then stays in the list and retention stops
// for now).
func (w *Writer) removeOldest(now time.Time, reason string) bool {
	s := w.sealed[0]
	if s.job != nil {
		<-s.job.done // still being sealed (a very small ring)
		_ = w.reap(s)
	}
	if err := os.Remove(s.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		w.st.WriteErrors++
		w.logErr(now, "ring: remove old segment", err)
		return false
	}
	w.sealed[0] = nil
	w.sealed = w.sealed[1:]
	w.sealedBytes -= s.Size
	w.st.SegmentsPruned++
	w.log.Debug("ring: pruned segment", "file", filepath.Base(s.Path), "reason", reason, "bytes", s.Size)
	return true
}
