//go:build linux || darwin || freebsd

package recorder

import (
	"os"

	"golang.org/x/sys/unix"
)

// diskFree reports the bytes available to unprivileged users on the file
// system holding dir.
func diskFree(dir string) (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, &os.PathError{Op: "statfs", Path: dir, Err: err}
	}
	return uint64(st.Bavail) * uint64(st.Bsize), nil
}
