package netstate

import (
	"context"
	"fmt"
)

// The Windows implementation will read the neighbor table with
// GetIpNetTable2 and watch it with NotifyIpInterfaceChange /
// NotifyUnicastIpAddressChange (iphlpapi). Until then everything returns
// ErrUnsupported.

// Neighbors is not implemented on Windows yet.
func Neighbors(ctx context.Context) ([]Neighbor, error) {
	return nil, fmt.Errorf("netstate: neighbors (GetIpNetTable2 not wired yet): %w", ErrUnsupported)
}

// Watch is not implemented on Windows yet.
func Watch(ctx context.Context, fn func(Change)) error {
	return fmt.Errorf("netstate: watch: %w", ErrUnsupported)
}
