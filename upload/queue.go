package upload

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/arpbox/arpbox/bundle"
)

// The queue is a directory of small JSON files, one per bundle:
//
//	<queue_dir>/pending/<id>.json   to upload, oldest id first
//	<queue_dir>/done/<id>.json      uploaded (where, when, its SHA-256)
//
// Each file is written under a hidden name, fsynced, renamed into place and
// its directory fsynced, so a crash leaves either the whole entry or none.
// An upload is recorded done before its pending entry is removed: a crash
// in between uploads nothing twice (the done record wins). Done records go
// when their bundle has left the snapshots directory.
const (
	pendingDir = "pending"
	doneDir    = "done"
	entryExt   = ".json"
	// maxEntryBytes bounds what is read of one entry file.
	maxEntryBytes = 64 << 10
	// maxEntries bounds one listing of pending entries.
	maxEntries = 100000
)

// entry is one queued bundle.
type entry struct {
	ID     string    `json:"id"`
	Zip    string    `json:"zip"`
	Queued time.Time `json:"queued"`
}

// doneRecord is one uploaded bundle.
type doneRecord struct {
	ID       string    `json:"id"`
	Key      string    `json:"key"`
	SHA256   string    `json:"sha256"`
	Size     int64     `json:"size"`
	Uploaded time.Time `json:"uploaded"`
}

type queue struct{ dir string }

func (q queue) path(sub, id string) string { return filepath.Join(q.dir, sub, id+entryExt) }

// init makes the queue's directories.
func (q queue) init() error {
	for _, sub := range []string{pendingDir, doneDir} {
		if err := os.MkdirAll(filepath.Join(q.dir, sub), 0o750); err != nil {
			return fmt.Errorf("upload queue: %w", err)
		}
	}
	return nil
}

// clean removes the hidden files of writes a crash interrupted. No write
// may run meanwhile.
func (q queue) clean() {
	for _, sub := range []string{pendingDir, doneDir} {
		tmps, _ := filepath.Glob(filepath.Join(q.dir, sub, ".tmp-*"))
		for _, t := range tmps {
			os.Remove(t)
		}
	}
}

// add queues e durably.
func (q queue) add(e entry) error {
	if !bundle.ValidID(e.ID) {
		return fmt.Errorf("upload queue: %q is not a bundle id", e.ID)
	}
	return writeDurable(filepath.Join(q.dir, pendingDir), e.ID, e)
}

// markDone records r as uploaded, then removes its pending entry.
func (q queue) markDone(r doneRecord) error {
	if err := writeDurable(filepath.Join(q.dir, doneDir), r.ID, r); err != nil {
		return err
	}
	return q.remove(r.ID)
}

// remove deletes id's pending entry (gone already is fine).
func (q queue) remove(id string) error {
	if err := os.Remove(q.path(pendingDir, id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("upload queue: %w", err)
	}
	return syncDir(filepath.Join(q.dir, pendingDir))
}

// isPending reports whether id waits to be uploaded.
func (q queue) isPending(id string) bool {
	if !bundle.ValidID(id) {
		return false
	}
	_, err := os.Lstat(q.path(pendingDir, id))
	return err == nil
}

// isDone reports whether id has been uploaded.
func (q queue) isDone(id string) bool {
	if !bundle.ValidID(id) {
		return false
	}
	_, err := os.Lstat(q.path(doneDir, id))
	return err == nil
}

// ids lists the entries of sub, sorted (bundle ids sort in time order).
// Hidden files (a write a crash interrupted) and foreign names are skipped.
func (q queue) ids(sub string) ([]string, error) {
	d, err := os.Open(filepath.Join(q.dir, sub))
	if err != nil {
		return nil, fmt.Errorf("upload queue: %w", err)
	}
	defer d.Close()
	names, err := d.Readdirnames(maxEntries)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("upload queue: %w", err)
	}
	var ids []string
	for _, n := range names {
		id, ok := strings.CutSuffix(n, entryExt)
		if ok && bundle.ValidID(id) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// read reads id's pending entry.
func (q queue) read(id string) (entry, error) {
	var e entry
	f, err := os.Open(q.path(pendingDir, id))
	if err != nil {
		return e, fmt.Errorf("upload queue: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxEntryBytes+1))
	if err != nil {
		return e, fmt.Errorf("upload queue: %s: %w", f.Name(), err)
	}
	if len(b) > maxEntryBytes {
		return e, fmt.Errorf("upload queue: %s: larger than %d bytes", f.Name(), maxEntryBytes)
	}
	if err := json.Unmarshal(b, &e); err != nil {
		return e, fmt.Errorf("upload queue: %s: %w", f.Name(), err)
	}
	if e.ID != id || e.Zip == "" {
		return e, fmt.Errorf("upload queue: %s: the entry names bundle %q, zip %q", f.Name(), e.ID, e.Zip)
	}
	return e, nil
}

// writeDurable writes v as JSON to dir/<name>.json: hidden name, fsync,
// rename, fsync of dir.
func writeDurable(dir, name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("upload queue: %w", err)
	}
	tmp := filepath.Join(dir, ".tmp-"+name+entryExt)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("upload queue: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name+entryExt))
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("upload queue: write %s: %w", name, err)
	}
	return nil
}
