package ring

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// DiskFree reports the bytes available to the caller and the size of the
// volume holding dir.
func DiskFree(dir string) (free, total uint64, err error) {
	p, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return 0, 0, &os.PathError{Op: "GetDiskFreeSpaceEx", Path: dir, Err: err}
	}
	var avail, size, totalFree uint64
	if err := windows.GetDiskFreeSpaceEx(p, &avail, &size, &totalFree); err != nil {
		return 0, 0, &os.PathError{Op: "GetDiskFreeSpaceEx", Path: dir, Err: err}
	}
	return avail, size, nil
}

// isDiskFull reports whether err means the volume (or quota) is full.
func isDiskFull(err error) bool {
	return errors.Is(err, windows.ERROR_DISK_FULL) || errors.Is(err, windows.ERROR_HANDLE_DISK_FULL) ||
		errors.Is(err, windows.ERROR_DISK_QUOTA_EXCEEDED)
}

// syncDir is a no-op: Windows cannot open a directory for flushing, and
// NTFS journals renames itself.
func syncDir(string) error { return nil }

// lockDir takes an exclusive lock on dir (a lock file in it), so that two
// writers never share a ring. Windows drops it when the process dies.
func lockDir(dir string) (unlock func() error, err error) {
	f, err := os.OpenFile(lockPath(dir), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	ol := new(windows.Overlapped)
	err = windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ol)
	if err != nil {
		f.Close()
		if errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
			return nil, errLocked
		}
		return nil, &os.PathError{Op: "LockFileEx", Path: f.Name(), Err: err}
	}
	return f.Close, nil
}
