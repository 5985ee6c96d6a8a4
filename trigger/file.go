package trigger

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/arpbox/arpbox/bundle"
	"github.com/arpbox/arpbox/internal/filekind"
)

// fileReadMax is how much of a trigger file is read; the reason is cut to
// MaxReasonLen characters anyway.
const fileReadMax = 4096

// fileSettle is how long FileSource waits after the last create/write event
// before reading, so `echo reason > file` is read after the write, not at
// the empty create.
const fileSettle = 100 * time.Millisecond

// FileSource fires when a trigger file is created or written: it watches the
// file's directory (which must exist) with fsnotify, reads up to 4 KiB of the
// file once writes settle, makes a reason of it (SanitizeReason; empty file:
// "trigger file <path> written") and then removes the file, so the next
// write fires again. Only a regular file with one link, owned by root or by
// arpbox's own user (on Windows: not a reparse point), counts, checked on
// the opened file, which is opened without following symlinks or blocking
// (see consume); a file of another owner is removed without firing;
// anything else at the path (a symlink, a directory, a FIFO) is logged and
// left alone. A regular file already there when Run starts was written
// while nobody watched: it is removed and logged, not fired; anything else
// there then is an error. Events have Trigger and Check "file" and Target
// the path.
type FileSource struct {
	path   string
	log    *slog.Logger
	now    func() time.Time
	settle time.Duration
}

// NewFileSource returns a source watching path. It starts nothing.
func NewFileSource(path string, log *slog.Logger) *FileSource {
	if log == nil {
		log = discard()
	}
	path = filepath.Clean(path)
	return &FileSource{path: path, log: log.With("trigger", "file", "path", path), now: time.Now, settle: fileSettle}
}

// Run watches until ctx is cancelled and returns nil then; it returns an
// error when the directory cannot be watched.
func (f *FileSource) Run(ctx context.Context, emit func(bundle.Event)) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("trigger file %s: %w", f.path, err)
	}
	defer w.Close()
	dir := filepath.Dir(f.path)
	if err := w.Add(dir); err != nil {
		return fmt.Errorf("trigger file %s: watch directory %s: %w", f.path, dir, err)
	}
	if err := f.checkStale(); err != nil {
		return err
	}
	var (
		timer  *time.Timer
		settle <-chan time.Time
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return fmt.Errorf("trigger file %s: watcher closed", f.path)
			}
			if filepath.Clean(ev.Name) != f.path || !ev.Has(fsnotify.Create) && !ev.Has(fsnotify.Write) {
				continue
			}
			if timer == nil {
				timer = time.NewTimer(f.settle)
			} else {
				timer.Reset(f.settle)
			}
			settle = timer.C
		case err, ok := <-w.Errors:
			if !ok {
				return fmt.Errorf("trigger file %s: watcher closed", f.path)
			}
			f.log.Warn("watch error", "err", err)
		case <-settle:
			settle = nil
			if ev, ok := f.consume(); ok {
				f.log.Info("trigger file written; firing", "reason", ev.Reason)
				emit(ev)
			}
		}
	}
}

// consume reads and removes the trigger file. The file is opened without
// following a symlink and without blocking (a FIFO or device swapped in
// between the event and the open is refused, never read), and what was
// opened is checked, not what the path named a moment before (openTrigger,
// per platform): a regular file with one link, owned by root or by arpbox's
// own user. At most fileReadMax bytes are read. The path is removed only
// while it still names the file that was read.
func (f *FileSource) consume() (bundle.Event, bool) {
	fh, err := openTrigger(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return bundle.Event{}, false // created and removed again before we looked
	}
	if err != nil {
		var refused *refusedError
		if errors.As(err, &refused) && refused.remove {
			f.log.Warn("trigger file refused; removing it without firing", "err", err)
			f.remove()
			return bundle.Event{}, false
		}
		f.log.Warn("trigger path refused; ignoring it", "err", err)
		return bundle.Event{}, false
	}
	data, err := io.ReadAll(io.LimitReader(fh, fileReadMax))
	if err != nil {
		f.log.Warn("cannot read trigger file; firing without its reason", "err", err)
	}
	f.removeIfSame(fh)
	fh.Close()
	reason := SanitizeReason(data)
	if reason == "" {
		reason = "trigger file " + f.path + " written"
	}
	ev := manualAt(reason, "file", f.now())
	ev.Target = f.path
	return ev, true
}

// refusedError says why an opened trigger path was not read; remove is
// true for a regular file that is not arpbox's to trust (it is consumed
// without firing), false for what arpbox leaves alone (a symlink, a FIFO,
// a directory).
type refusedError struct {
	path   string
	why    string
	remove bool
}

func (e *refusedError) Error() string { return "trigger file " + e.path + ": " + e.why }

// removeIfSame removes the trigger path if it still names the opened file
// fh: a file renamed over it since is left for the next event.
func (f *FileSource) removeIfSame(fh *os.File) {
	opened, err := fh.Stat()
	if err != nil {
		return
	}
	now, err := os.Lstat(f.path)
	if err != nil || !os.SameFile(opened, now) {
		return
	}
	f.remove()
}

// checkStale is run when Run starts: a regular file at the path was
// written while nobody watched and is removed (not fired); anything else
// (a directory, a symlink, a FIFO, a socket) is not arpbox's to remove and
// stops Run with an error naming it.
func (f *FileSource) checkStale() error {
	fi, err := os.Lstat(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("trigger file %s: %w", f.path, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("trigger file %s: a %s is in the way (arpbox removes only a stale regular trigger file): remove it or set another control.trigger_file", f.path, filekind.Of(fi.Mode()))
	}
	f.log.Warn("removing stale trigger file left from before start; not firing")
	f.remove()
	return nil
}

func (f *FileSource) remove() {
	if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		f.log.Warn("cannot remove trigger file; it will not fire again until removed", "err", err)
	}
}
