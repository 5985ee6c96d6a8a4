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

// DefaultSocket is the control endpoint's default: on Windows the control
// file that holds the loopback address and token (see package control).
func DefaultSocket() string { return filepath.Join(DefaultDataDir(), "control.json") }
