//go:build !linux && !windows

package netstate

import (
	"context"
	"fmt"
)

// Neighbors is only implemented on Linux.
func Neighbors(ctx context.Context) ([]Neighbor, error) {
	return nil, fmt.Errorf("netstate: neighbors: %w", ErrUnsupported)
}

// Watch is only implemented on Linux.
func Watch(ctx context.Context, fn func(Change)) error {
	return fmt.Errorf("netstate: watch: %w", ErrUnsupported)
}
