package snapshot

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/arpbox/arpbox/bundle"
	"github.com/arpbox/arpbox/ring"
)

// What a snapshot does when it cannot be written, and who may touch
// snapshots.dir:
//
// One arpbox uses a snapshots.dir: Open takes a lock on it (a lock file
// in it), so a second instance refuses to start instead of removing the
// first one's staging directories as leftovers.
//
// A snapshot that fails after its freeze (no room for the bundle, a full
// disk while merging) keeps its frozen segments: the staging directory is
// renamed .failed-<id> and the error says where. They stay until the ring
// needs the room (the ring's Reclaim hook calls ReleaseHeld: a ring that
// could only make room by deleting frozen links would otherwise stop
// recording) or snapshot retention (max_count, max_size) removes them, as
// it removes old bundles. A staging directory left by a crash is kept the
// same way.

// Modes of everything a bundle holds.
const (
	fileMode = 0o640
	dirMode  = 0o750
)

const (
	lockName     = ".arpbox-snapshots.lock"
	failedPrefix = ".failed-"
	// spaceMargin is room kept for the bundle's small files (manifest,
	// README, network state, reports) beside the capture.
	spaceMargin = 1 << 20
	// sampleBytes is how much of the window is compressed to estimate the
	// capture's size.
	sampleBytes = 1 << 20
)

// Open creates snapshots.dir, takes its lock, and tidies what a previous
// run left: partial bundles are removed, frozen windows kept (see above).
// It fails, wrapping ring.ErrLocked, when another process holds the lock.
// Run calls it if it was not called; call it first to fail at start.
func (s *Snapshotter) Open() error {
	if s.unlock != nil {
		return nil
	}
	if err := os.MkdirAll(s.cfg.Dir, dirMode); err != nil {
		return fmt.Errorf("snapshots.dir %s: %w", s.cfg.Dir, err)
	}
	unlock, err := ring.LockFile(filepath.Join(s.cfg.Dir, lockName))
	if err != nil {
		if errors.Is(err, ring.ErrLocked) {
			return fmt.Errorf("snapshots.dir %s is used by another arpbox (each needs its own): %w", s.cfg.Dir, err)
		}
		return fmt.Errorf("snapshots.dir %s: %w", s.cfg.Dir, err)
	}
	s.unlock = unlock
	s.cleanLeftovers()
	return nil
}

func (s *Snapshotter) closeLock() {
	if s.unlock != nil {
		_ = s.unlock()
		s.unlock = nil
	}
}

// cleanLeftovers tidies the staging of a previous run that crashed (not
// that of requests accepted since this snapshotter was made): partial
// bundles are removed, frozen windows kept as failed ones.
func (s *Snapshotter) cleanLeftovers() {
	s.mu.Lock()
	defer s.mu.Unlock()
	ents, err := os.ReadDir(s.cfg.Dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		n := e.Name()
		p := filepath.Join(s.cfg.Dir, n)
		if id, ok := strings.CutPrefix(n, ".freeze-"); ok && !s.ids[id] {
			if hasFiles(p) {
				dst := filepath.Join(s.cfg.Dir, failedPrefix+id)
				if err := os.Rename(p, dst); err == nil {
					s.log.Warn("kept the frozen window of a snapshot interrupted by a crash; retention or the ring's need for room removes it", "path", dst)
					continue
				}
			}
			if err := os.RemoveAll(p); err != nil {
				s.log.Warn("remove leftover snapshot staging", "path", p, "err", err)
			}
			continue
		}
		id := strings.TrimSuffix(strings.TrimPrefix(n, ".tmp-"), bundle.ZipExt)
		if strings.HasPrefix(n, ".tmp-") && !s.ids[id] {
			if err := os.RemoveAll(p); err != nil {
				s.log.Warn("remove leftover snapshot staging", "path", p, "err", err)
			} else {
				s.log.Info("removed a partial bundle left by an earlier run", "path", p)
			}
		}
	}
}

func hasFiles(dir string) bool {
	ents, err := os.ReadDir(dir)
	return err == nil && len(ents) > 0
}

// finishZips packs the zip of every published bundle that lacks one (the
// process died between publishing the directory and its zip).
func (s *Snapshotter) finishZips(ctx context.Context) {
	infos, err := List(s.cfg.Dir)
	if err != nil {
		return
	}
	for _, in := range infos {
		if ctx.Err() != nil {
			return
		}
		if in.Zip != "" || in.Path == "" {
			continue
		}
		zipPath := in.Path + bundle.ZipExt
		if err := writeZip(in.Path, in.ID, zipPath); err != nil {
			s.log.Warn("cannot pack the zip of a bundle published without one", "bundle", in.ID, "err", err)
			continue
		}
		s.log.Info("packed the zip of a bundle an earlier run published without one", "bundle", in.ID, "zip", zipPath)
	}
}

// checkPins fails with ErrLostSegments when frozen segments vanished
// from the staging directory.
func (s *Snapshotter) checkPins(j *job) error {
	missing := 0
	for _, p := range j.pins {
		if _, err := os.Lstat(p.Path); errors.Is(err, fs.ErrNotExist) {
			missing++
		}
	}
	if missing == 0 {
		return nil
	}
	return fmt.Errorf("%w: %d of %d gone from %s (did something else clean snapshots.dir?)", ErrLostSegments, missing, len(j.pins), j.freezeDir)
}

// checkSpace fails with ErrNoSpace, before anything is merged, when
// snapshots.dir lacks the room the bundle needs: the capture (the frozen
// bytes at the compression ratio of a sample of them) and a margin for the
// other files. The zip needs as much again, later; it may fail alone.
func (s *Snapshotter) checkSpace(j *job) error {
	free, _, err := ring.DiskFree(s.cfg.Dir)
	if err != nil {
		return nil // unknown: try
	}
	var frozen int64
	largest := ""
	var largestSize int64
	for _, p := range j.pins {
		fi, err := os.Stat(p.Path)
		if err != nil {
			continue
		}
		frozen += fi.Size()
		if fi.Size() > largestSize {
			largest, largestSize = p.Path, fi.Size()
		}
	}
	ratio := 1.0
	if largest != "" {
		if r, err := compressRatio(largest); err == nil {
			ratio = r
		}
	}
	capture := int64(float64(frozen)*ratio*1.2) + 64<<10
	need := capture + spaceMargin
	if uint64(need) <= free {
		return nil
	}
	return fmt.Errorf("%w: %s has %d bytes free, the bundle needs about %d (%d frozen segments, %d bytes, compress to about %d)",
		ErrNoSpace, s.cfg.Dir, free, need, len(j.pins), frozen, capture)
}

// compressRatio gzips up to sampleBytes of path as the capture is
// compressed and returns compressed/raw.
func compressRatio(path string) (float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var cw countWriter
	gz, err := gzip.NewWriterLevel(&cw, gzip.BestSpeed)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(gz, io.LimitReader(f, sampleBytes))
	if err != nil {
		return 0, err
	}
	if err := gz.Close(); err != nil {
		return 0, err
	}
	if n == 0 {
		return 1, nil
	}
	return min(float64(cw)/float64(n)+0.01, 1.1), nil
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

// keepFailed keeps a failed job's frozen segments as .failed-<id> and
// says so in a sentence for the error; "" if there was nothing to keep.
func (s *Snapshotter) keepFailed(log *slog.Logger, j *job) string {
	if j.freezeDir == "" {
		return ""
	}
	var n int
	var size int64
	for _, p := range j.pins {
		if fi, err := os.Stat(p.Path); err == nil {
			n++
			size += fi.Size()
		}
	}
	if n == 0 {
		return ""
	}
	dst := filepath.Join(s.cfg.Dir, failedPrefix+j.id)
	if err := os.Rename(j.freezeDir, dst); err != nil {
		log.Warn("cannot keep the failed snapshot's frozen segments", "err", err)
		return ""
	}
	j.freezeDir = ""
	return fmt.Sprintf("the window's %d frozen segments (%d bytes, pcapng) are kept in %s until the ring needs the room or snapshot retention removes them", n, size, dst)
}

// failedDirs returns the kept windows of failed snapshots, oldest first.
func failedDirs(dir string) []Info {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []Info
	for _, e := range ents {
		id, ok := strings.CutPrefix(e.Name(), failedPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		p := filepath.Join(dir, e.Name())
		out = append(out, Info{ID: id, Path: p, Size: dirSize(p), Err: "failed snapshot: frozen segments only"})
	}
	sort.Slice(out, func(i, k int) bool { return out[i].ID < out[k].ID })
	return out
}

// ReleaseHeld removes the oldest kept window of a failed snapshot, for a
// ring that cannot make room otherwise (ring.Options.Reclaim). It reports
// whether it removed one. Safe for concurrent use.
func (s *Snapshotter) ReleaseHeld() bool {
	for _, in := range failedDirs(s.cfg.Dir) {
		if err := os.RemoveAll(in.Path); err != nil {
			s.log.Warn("cannot release a failed snapshot's frozen segments", "path", in.Path, "err", err)
			continue
		}
		s.log.Warn("released the frozen segments of a failed snapshot: the ring needed the room", "bundle", in.ID, "bytes", in.Size)
		return true
	}
	return false
}

// isDiskFull reports whether err means the file system is full.
func isDiskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, ErrNoSpace)
}
