package trigger

import (
	"context"
	"errors"
	"log/slog"
)

type icmpCheck struct {
	host string
	log  *slog.Logger
}

func (c *icmpCheck) Probe(ctx context.Context) error { return errors.New("icmp: not implemented yet") }

func newARPCheck(target, iface string) (Check, error) {
	return nil, errors.New("arp: not implemented yet")
}
func newNeighborCheck(target, iface string) (Check, error) {
	return nil, errors.New("neighbor: not implemented yet")
}
