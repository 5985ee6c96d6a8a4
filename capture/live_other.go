//go:build !linux

package capture

import (
	"errors"
	"fmt"
)

// openHandle reports that live capture is not built for this platform.
func openHandle(cfg LiveConfig) (handle, error) {
	return nil, fmt.Errorf("capture %s: live capture is built for Linux only so far (on Windows it needs Npcap support, not built yet): %w",
		cfg.Iface, errors.ErrUnsupported)
}
