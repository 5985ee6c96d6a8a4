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
// write fires again. Only a regular file counts; anything else at the path
// (a symlink, a directory) is logged and ignored. A file already there when
// Run starts was written while nobody watched: it is removed and logged, not
// fired. Events have Trigger and Check "file" and Target the path.
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
	if _, err := os.Lstat(f.path); err == nil {
		f.log.Warn("removing stale trigger file left from before start; not firing")
		f.remove()
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

// consume reads and removes the trigger file.
func (f *FileSource) consume() (bundle.Event, bool) {
	fi, err := os.Lstat(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return bundle.Event{}, false // created and removed again before we looked
	}
	if err != nil {
		f.log.Warn("cannot stat trigger file", "err", err)
		return bundle.Event{}, false
	}
	if !fi.Mode().IsRegular() {
		f.log.Warn("trigger path is not a regular file; ignoring", "mode", fi.Mode().String())
		return bundle.Event{}, false
	}
	data, err := readHead(f.path, fileReadMax)
	f.remove()
	if err != nil {
		f.log.Warn("cannot read trigger file; firing without its reason", "err", err)
	}
	reason := SanitizeReason(data)
	if reason == "" {
		reason = "trigger file " + f.path + " written"
	}
	ev := manualAt(reason, "file", f.now())
	ev.Target = f.path
	return ev, true
}

func (f *FileSource) remove() {
	if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		f.log.Warn("cannot remove trigger file; it will not fire again until removed", "err", err)
	}
}

func readHead(path string, max int64) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return io.ReadAll(io.LimitReader(fh, max))
}
