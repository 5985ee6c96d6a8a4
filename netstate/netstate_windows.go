package netstate

import (
	"context"
	"fmt"
	"net/netip"
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

// Capture is not implemented on Windows yet (GetIpNetTable2,
// GetIfTable2, GetUnicastIpAddressTable, GetIpForwardTable2).
func Capture(ctx context.Context) (*State, error) {
	return nil, fmt.Errorf("netstate: capture: %w", ErrUnsupported)
}

// DefaultRoute is not implemented on Windows yet (GetIpForwardTable2).
func DefaultRoute(ctx context.Context) (iface string, gateway netip.Addr, err error) {
	return "", netip.Addr{}, fmt.Errorf("netstate: default route: %w", ErrUnsupported)
}

// Run is not implemented on Windows yet (NotifyIpInterfaceChange).
func (j *Journal) Run(ctx context.Context) error {
	return fmt.Errorf("netstate: journal: %w", ErrUnsupported)
}
