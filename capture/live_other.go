//go:build !linux && !windows

package capture

import (
	"errors"
	"fmt"
)

// openHandle reports that live capture is not built for this platform.
func openHandle(cfg LiveConfig) (handle, error) {
	return nil, fmt.Errorf("capture %s: live capture is built for Linux and Windows only: %w",
		cfg.Iface, errors.ErrUnsupported)
}

// checkIfaceName accepts any name: nothing can be opened here anyway.
func checkIfaceName(string) error { return nil }

// liveAvailable: openHandle says what is missing.
func liveAvailable() error { return nil }

// watchLink: no link events here; Run reopens on its backoff timer.
func watchLink(string) (linkWatcher, error) { return nil, errors.ErrUnsupported }
