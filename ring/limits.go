package ring

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"
)

// SetLimits applies a reloaded configuration's segment and retention limits
// (segment_size, segment_duration, max_size, max_segments, min_free,
// flush_interval) to an open Writer. The directory cannot change while the
// Writer is open: a different Dir is an error and nothing is applied. The
// current segment is kept; it rotates by the new limits, and retention runs
// at once, so a smaller max_size prunes now. Like WritePacket, it is called
// by the Writer's owner.
func (w *Writer) SetLimits(c Config) error {
	if err := c.Validate(); err != nil {
		return fmt.Errorf("ring config: %w", err)
	}
	c = c.WithDefaults()
	if filepath.Clean(c.Dir) != filepath.Clean(w.cfg.Dir) {
		return fmt.Errorf("ring: dir: cannot move the ring from %s to %s while recording", w.cfg.Dir, c.Dir)
	}
	c.Dir = w.cfg.Dir
	w.cfg = c
	if w.opened && !w.closed {
		now := w.now()
		w.enforce(now)
		w.publish()
	}
	return nil
}

// SetInterfaces replaces the interfaces the Writer records (a reload added
// or removed one). A segment's interface description blocks are written
// when it starts, so the current segment is sealed (its statistics blocks
// name the old interfaces, with the counts of the old indices) and the next
// one starts with the new set: packets written afterwards use indices into
// ifaces. Called by the Writer's owner, after the sources of removed
// interfaces have stopped writing and before new ones start.
func (w *Writer) SetInterfaces(ifaces []Interface) error {
	if len(ifaces) == 0 {
		return errors.New("ring: no interfaces to record")
	}
	if !w.opened || w.closed {
		w.setIfaces(ifaces)
		return nil
	}
	// Frames held for ordering carry the old interface indices: written
	// before the set changes.
	w.release(time.Time{}, true)
	now := w.now()
	if w.cur != nil {
		_ = w.seal(now, false) // a failure is handled (and counted) by fail
	}
	w.setIfaces(ifaces)
	w.enforce(now)
	if w.cur == nil && !now.Before(w.retryAt) {
		_ = w.start(now) // failure logged and counted; retried from Tick
	}
	w.publish()
	return nil
}

// setIfaces makes ifaces the interface set, with the per-interface state
// (written counts, the reorder buffer) sized to it.
func (w *Writer) setIfaces(ifaces []Interface) {
	w.ifaces = slicesClone(ifaces)
	w.reserve = int64(isbLen * len(ifaces))
	w.ifWritten = make([]uint64, len(ifaces))
	w.ord = nil
	if w.opts.Reorder > 0 && len(ifaces) > 1 && w.opts.PacketClock.IsZero() {
		w.ord = newOrderer(len(ifaces), w.opts.Reorder)
	}
}
