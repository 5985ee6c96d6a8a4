// Package ring stores captured frames in a bounded set of pcapng segment files.
package ring

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"
)

// TimestampSlack is how much earlier than its segment's start time a packet in
// the segment may be stamped: frames are stamped by the kernel and reach the
// writer in batches, so a segment opened at S can hold frames from S-1s.
const TimestampSlack = time.Second

// ErrClosed is returned by Writer methods called before Open or after Close.
var ErrClosed = errors.New("ring: writer is not open")

// ErrNotPcapng is returned by Repair and ValidLength for a file that does not
// start with a complete pcapng section header block.
var ErrNotPcapng = errors.New("not a pcapng file")

// lockName is the lock file a Writer holds in its ring directory.
const lockName = ".arpbox-ring.lock"

func lockPath(dir string) string { return filepath.Join(dir, lockName) }

// ErrLocked is returned by Open, and by LockFile, when another process
// holds the lock: another arpbox writes into the ring directory (or uses
// the directory LockFile guards).
var ErrLocked = errors.New("in use by another process (its lock is held)")

// LockFile takes an exclusive lock on the file at path (created if
// missing), held until unlock is called or the process exits. It fails
// with ErrLocked when another process holds it. On platforms without file
// locks it only creates the file.
func LockFile(path string) (unlock func() error, err error) {
	f, err := lockFile(path)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return f.Close, nil
}
