//go:build !linux && !windows

package netstate

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
)

// Linux (netlink) and Windows (iphlpapi) are implemented; elsewhere every
// call says so.

var errNoSystem = fmt.Errorf("network state is not read on %s yet: %w", runtime.GOOS, errors.ErrUnsupported)

func openSystem(ctx context.Context) (system, error) { return nil, errNoSystem }

func openLinkModes() (func(index int, name string) (linkMode, error), func(), error) {
	return nil, nil, errNoSystem
}

// Capture is only implemented on Linux and Windows.
func Capture(ctx context.Context) (*State, error) {
	return nil, fmt.Errorf("netstate: capture: %w", errNoSystem)
}

// DefaultRoute is only implemented on Linux and Windows.
func DefaultRoute(ctx context.Context) (iface string, gateway netip.Addr, err error) {
	return "", netip.Addr{}, fmt.Errorf("netstate: default route: %w", errNoSystem)
}
