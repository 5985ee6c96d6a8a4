//go:build !windows

package snapshot

import "syscall"

// umask returns the process's umask (setting it back at once).
func umask() uint32 {
	m := syscall.Umask(0)
	syscall.Umask(m)
	return uint32(m)
}

// checkModes: Unix permission bits are meaningful here.
const checkModes = true
