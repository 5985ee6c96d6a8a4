// Package ring stores captured frames in a bounded set of pcapng segment files.
package ring

import (
	"errors"
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

// lockFile is the lock file a Writer holds in its ring directory.
const lockFile = ".arpbox-ring.lock"

func lockPath(dir string) string { return filepath.Join(dir, lockFile) }

// errLocked means another process writes into the ring directory.
var errLocked = errors.New("ring directory is in use by another writer")
