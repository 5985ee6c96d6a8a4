package trigger

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"testing"

	"github.com/arpbox/arpbox/netstate"
)

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// The neighbor check's Probe against a table it is handed.
func TestNeighborStates(t *testing.T) {
	tests := []struct {
		state, iface string
		want         string
	}{
		{"REACHABLE", "eth1", ""},
		{"STALE", "eth1", ""},
		{"PROBE", "eth1", ""},
		{"PERMANENT", "eth1", ""},
		{"INCOMPLETE", "eth1", "neighbor 10.0.0.5 on eth1 is INCOMPLETE"},
		{"FAILED", "eth1", "neighbor 10.0.0.5 on eth1 is FAILED"},
		{"FAILED", "eth2", ""}, // another interface
	}
	for _, tc := range tests {
		c, err := newNeighborCheck("10.0.0.5,10.0.0.6", "eth1")
		if err != nil {
			t.Fatal(err)
		}
		c.neighbors = func(context.Context) ([]netstate.Neighbor, error) {
			return []netstate.Neighbor{
				{IP: mustAddr("10.0.0.1"), Iface: "eth1", State: "FAILED"}, // not ours
				{IP: mustAddr("10.0.0.5"), Iface: tc.iface, State: tc.state},
			}, nil
		}
		err = c.Probe(context.Background())
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("%s on %s: Probe = %q, want %q", tc.state, tc.iface, got, tc.want)
		}
	}
	c, _ := newNeighborCheck("10.0.0.5", "")
	c.neighbors = func(context.Context) ([]netstate.Neighbor, error) {
		return nil, fmt.Errorf("netstate: neighbors: %w", errors.ErrUnsupported)
	}
	if err := c.Probe(context.Background()); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("unsupported netstate: Probe = %v, want errors.ErrUnsupported", err)
	}
}
