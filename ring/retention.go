package ring

import (
	"errors"
	"fmt"
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
		if !w.removeAt(0, now, reason) {
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
//
// It counts only bytes a removal really frees: a segment with another hard
// link (a snapshot froze it) frees nothing, so it is skipped, not removed;
// the next unheld one goes instead. Where link counts are unknown, a
// removal that left free space unchanged stops the pruning. When held
// segments are all that is left, Options.Reclaim is asked once to release
// some.
func (w *Writer) keepFree(now time.Time, extra uint64, reason string, blind bool) bool {
	removed, reclaimed := false, false
	var held int64
	for i := 0; ; {
		free, total, err := w.diskFree(w.cfg.Dir)
		if err != nil {
			if !w.freeErrLog {
				w.log.Warn("ring: cannot read free disk space; min_free not enforced", "err", err)
				w.freeErrLog = true
			}
			if !blind || removed {
				break
			}
		} else if free >= w.minFree(total)+extra {
			break
		}
		if i >= len(w.sealed) {
			if held > 0 && !reclaimed && w.opts.Reclaim != nil {
				reclaimed = true
				if w.opts.Reclaim() {
					i, held = 0, 0 // look again: released segments free space now
					continue
				}
			}
			break
		}
		s := w.sealed[i]
		if s.job != nil { // still being sealed: its name is not final yet
			<-s.job.done
			_ = w.reap(s)
		}
		n, known := linkCount(s.Path)
		if known && n > 1 {
			held += s.Size
			i++
			continue
		}
		if !w.removeAt(i, now, reason) {
			break
		}
		removed = true
		if err == nil && !known && s.Size > 0 {
			if after, _, ferr := w.diskFree(w.cfg.Dir); ferr == nil && after <= free {
				// Freed nothing (held without a link count to tell):
				// removing more would empty the ring for nothing.
				break
			}
		}
	}
	w.st.HeldBytes = held
	if held > 0 {
		w.logHeld(now, held, reason)
	}
	return removed
}

// logHeld says, at most once per logEvery, that segments held by snapshots
// kept retention from making room.
func (w *Writer) logHeld(now time.Time, held int64, reason string) {
	if !w.heldLog.IsZero() && now.Sub(w.heldLog) < logEvery && !now.Before(w.heldLog) {
		return
	}
	w.heldLog = now
	w.log.Warn("ring: segments frozen by a snapshot (hard links) hold disk space that pruning them would not free; they are kept",
		"held_bytes", held, "reason", reason)
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

// removeAt deletes the sealed segment at index i (0: the oldest). It
// reports false if the file could not be removed (it then stays in the
// list and retention stops for now).
func (w *Writer) removeAt(i int, now time.Time, reason string) bool {
	s := w.sealed[i]
	if s.job != nil {
		<-s.job.done // still being sealed (a very small ring)
		_ = w.reap(s)
	}
	if err := os.Remove(s.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		w.st.WriteErrors++
		w.logErr(now, "ring: remove old segment", err)
		return false
	}
	copy(w.sealed[i:], w.sealed[i+1:])
	w.sealed[len(w.sealed)-1] = nil
	w.sealed = w.sealed[:len(w.sealed)-1]
	w.sealedBytes -= s.Size
	w.st.SegmentsPruned++
	w.log.Debug("ring: pruned segment", "file", filepath.Base(s.Path), "reason", reason, "bytes", s.Size)
	return true
}

// SpaceWarning returns a warning when bytes (a ring's max_size, plus
// what snapshots may keep beside it) exceed the size of the file system
// holding dir (or its nearest existing parent), or "" when they fit or the
// size cannot be read. what names the bytes, e.g. "ring.max_size".
func SpaceWarning(dir string, bytes int64, what string) string {
	d := existingParent(dir)
	_, total, err := DiskFree(d)
	if err != nil || total == 0 || uint64(bytes) <= total {
		return ""
	}
	return fmt.Sprintf("%s (%d bytes) exceeds the file system holding %s (%d bytes): free space, not max_size, then bounds the ring, and a snapshot may find no room for its bundle; lower it or set ring.min_free",
		what, bytes, dir, total)
}

// SameFileSystem reports whether a and b (or their nearest existing
// parents) are on one file system; false when that cannot be told.
func SameFileSystem(a, b string) bool {
	same, known := sameFS(existingParent(a), existingParent(b))
	return same && known
}

func existingParent(p string) string {
	for {
		if _, err := os.Stat(p); err == nil {
			return p
		}
		up := filepath.Dir(p)
		if up == p {
			return p
		}
		p = up
	}
}
