//go:build !windows

package trigger

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/arpbox/arpbox/internal/filekind"
)

// openTrigger opens the trigger file at path for reading without following
// a symlink in its last element (O_NOFOLLOW: ELOOP) and without blocking on
// a FIFO or device (O_NONBLOCK), then checks what it opened: a regular file
// with one link (a hard link to a file elsewhere is refused), owned by root
// or by this process's effective user. A missing file gives an error
// wrapping fs.ErrNotExist; a refused one a *refusedError.
func openTrigger(path string) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			return nil, &refusedError{path: path, why: "a symlink, not a regular file"}
		}
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	fh := os.NewFile(uintptr(fd), path)
	fi, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("trigger file %s: %w", path, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.Mode().IsRegular():
		fh.Close()
		return nil, &refusedError{path: path, why: "a " + filekind.Of(fi.Mode()) + ", not a regular file"}
	case !ok:
		fh.Close()
		return nil, &refusedError{path: path, why: "no owner information", remove: true}
	case st.Nlink != 1:
		fh.Close()
		return nil, &refusedError{path: path, why: fmt.Sprintf("has %d hard links (a trigger file has one)", st.Nlink), remove: true}
	case st.Uid != 0 && int(st.Uid) != os.Geteuid():
		fh.Close()
		return nil, &refusedError{path: path, why: fmt.Sprintf("owned by uid %d, neither root nor arpbox's user (uid %d)", st.Uid, os.Geteuid()), remove: true}
	}
	// Reads of a regular file never block; clear O_NONBLOCK anyway so the
	// runtime's poller is not involved.
	_ = unix.SetNonblock(fd, false)
	return fh, nil
}
