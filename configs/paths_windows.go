package configs

import (
	"os"
	"path/filepath"
)

// DefaultDataDir is where arpbox keeps its ring and snapshots by default.
func DefaultDataDir() string {
	base := os.Getenv("ProgramData")
	if base == "" {
		base = `C:\ProgramData`
	}
	return filepath.Join(base, "arpbox")
}

// DefaultSocket is the control socket's default path. Windows 10 and later
// support AF_UNIX sockets; the directory's ACL guards it.
func DefaultSocket() string { return filepath.Join(DefaultDataDir(), "arpbox.sock") }
