//go:build !linux

package capture

import (
	"context"
	"errors"
	"fmt"
)

// Run reports that live capture is not built for this platform.
func (l *Live) Run(ctx context.Context, out chan<- *Batch) error {
	return fmt.Errorf("capture %s: live capture is built for Linux only so far (on Windows it needs Npcap support, not built yet): %w",
		l.cfg.Iface, errors.ErrUnsupported)
}

// RunFunc reports that live capture is not built for this platform.
func (l *Live) RunFunc(ctx context.Context, deliver func(*Batch)) error {
	return l.Run(ctx, nil)
}
