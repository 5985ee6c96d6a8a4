//go:build !linux

package netstate

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
)

// Only Linux is implemented so far. Windows will read the neighbor table
// with GetIpNetTable2, links with GetIfTable2, addresses with
// GetUnicastIpAddressTable, routes with GetIpForwardTable2, and watch them
// with NotifyIpInterfaceChange / NotifyUnicastIpAddressChange (iphlpapi).

var errNoSystem = fmt.Errorf("network state is not read on %s yet: %w", runtime.GOOS, errors.ErrUnsupported)

func openSystem(ctx context.Context) (system, error) { return nil, errNoSystem }

func openLinkModes() (func(index int, name string) (linkMode, error), func(), error) {
	return nil, nil, errNoSystem
}

// Capture is only implemented on Linux.
func Capture(ctx context.Context) (*State, error) {
	return nil, fmt.Errorf("netstate: capture: %w", errNoSystem)
}

// DefaultRoute is only implemented on Linux.
func DefaultRoute(ctx context.Context) (iface string, gateway netip.Addr, err error) {
	return "", netip.Addr{}, fmt.Errorf("netstate: default route: %w", errNoSystem)
}
