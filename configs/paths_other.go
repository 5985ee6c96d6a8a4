//go:build !windows

package configs

// DefaultDataDir is where arpbox keeps its ring and snapshots by default.
func DefaultDataDir() string { return "/var/lib/arpbox" }

// DefaultSocket is the control socket's default path.
func DefaultSocket() string { return "/run/arpbox/arpbox.sock" }
