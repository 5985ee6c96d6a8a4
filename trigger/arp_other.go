//go:build !linux

package trigger

import (
	"context"
	"fmt"
)

func (c *arpCheck) Probe(ctx context.Context) error {
	return fmt.Errorf("arp check: %w", ErrUnsupported)
}
