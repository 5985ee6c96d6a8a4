//go:build !linux

package netstate

import (
	"context"
	"fmt"
	"net/netip"
)

// Only Linux is implemented so far. Windows will read the neighbor table
// with GetIpNetTable2, links with GetIfTable2, addresses with
// GetUnicastIpAddressTable, routes with GetIpForwardTable2, and watch them
// with NotifyIpInterfaceChange / NotifyUnicastIpAddressChange (iphlpapi).

// Neighbors is only implemented on Linux.
func Neighbors(ctx context.Context) ([]Neighbor, error) {
	return nil, fmt.Errorf("netstate: neighbors: %w", ErrUnsupported)
}

// Watch is only implemented on Linux.
func Watch(ctx context.Context, fn func(Change)) error {
	return fmt.Errorf("netstate: watch: %w", ErrUnsupported)
}

// Capture is only implemented on Linux.
func Capture(ctx context.Context) (*State, error) {
	return nil, fmt.Errorf("netstate: capture: %w", ErrUnsupported)
}

// DefaultRoute is only implemented on Linux.
func DefaultRoute(ctx context.Context) (iface string, gateway netip.Addr, err error) {
	return "", netip.Addr{}, fmt.Errorf("netstate: default route: %w", ErrUnsupported)
}

// Run is only implemented on Linux.
func (j *Journal) Run(ctx context.Context) error {
	return fmt.Errorf("netstate: journal: %w", ErrUnsupported)
}
