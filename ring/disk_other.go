//go:build !linux && !darwin && !freebsd && !windows

package ring

import (
	"errors"
	"fmt"
	"syscall"
)

var errNoDiskFree = fmt.Errorf("free disk space unknown on this platform: %w", errors.ErrUnsupported)

// DiskFree is not implemented here; the min_free limit is not enforced.
func DiskFree(string) (free, total uint64, err error) { return 0, 0, errNoDiskFree }

// isDiskFull reports whether err means the file system is full.
func isDiskFull(err error) bool { return errors.Is(err, syscall.ENOSPC) }

// syncDir is a no-op here.
func syncDir(string) error { return nil }

// lockDir does not lock on this platform.
func lockDir(string) (unlock func() error, err error) { return func() error { return nil }, nil }
