//go:build !windows

package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

var errNotWindows = fmt.Errorf("the Windows service manager is Windows's (on Linux, scripts/install.sh installs a systemd unit): %w", errors.ErrUnsupported)

// RunWindows reports that there is no Windows service manager here.
func RunWindows(run func(ctx context.Context, ready func()) error) error { return errNotWindows }

// IsService reports false: only Windows has a service control manager
// that this asks about (systemd is found through FromEnv).
func IsService() (bool, error) { return false, nil }

// Install reports that there is no Windows service manager here.
func Install(exe string, args []string) error { return errNotWindows }

// Uninstall reports that there is no Windows service manager here.
func Uninstall() error { return errNotWindows }

// Start reports that there is no Windows service manager here.
func Start(timeout time.Duration) error { return errNotWindows }

// Stop reports that there is no Windows service manager here.
func Stop(timeout time.Duration) error { return errNotWindows }

// LogFile is empty: on Linux the log goes to stderr (the journal).
func LogFile() string { return "" }

// EventLogHandler reports that there is no Windows event log here.
func EventLogHandler(level slog.Leveler) (slog.Handler, func() error, error) {
	return nil, nil, errNotWindows
}

// SecureDir reports that there is nothing to do here: on Linux the
// systemd unit's StateDirectory= makes the data directory, owned by the
// service's user, mode 0750.
func SecureDir(dir string) error { return errNotWindows }
