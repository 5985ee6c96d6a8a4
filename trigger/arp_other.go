//go:build !linux && !windows

package trigger

import (
	"context"
	"errors"
	"fmt"
)

func (c *arpCheck) Probe(ctx context.Context) error {
	return fmt.Errorf("arp check: not built for this platform: %w", errors.ErrUnsupported)
}
