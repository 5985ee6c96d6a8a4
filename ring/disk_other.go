//go:build !linux && !darwin && !freebsd && !windows

package ring

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

var errNoDiskFree = fmt.Errorf("free disk space unknown on this platform: %w", errors.ErrUnsupported)

// DiskFree is not implemented here; the min_free limit is not enforced.
func DiskFree(string) (free, total uint64, err error) { return 0, 0, errNoDiskFree }

// isDiskFull reports whether err means the file system is full.
func isDiskFull(err error) bool { return errors.Is(err, syscall.ENOSPC) }

// syncDir is a no-op here.
func syncDir(string) error { return nil }

// lockFile opens the file at path but cannot lock it on this platform.
func lockFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
}

// linkCount is unknown here: retention then checks that a removal freed
// space instead (see keepFree).
func linkCount(string) (uint64, bool) { return 0, false }

// sameFS is unknown here.
func sameFS(string, string) (same, known bool) { return false, false }
