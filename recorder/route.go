package recorder

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/arpbox/arpbox/configs"
	"github.com/arpbox/arpbox/netstate"
)

// resolveDefaultRoute fills in what cfg leaves to the default route (the
// interface to record, the gateway to watch), waiting for a default route
// to appear: at boot, DHCP may not be done yet, and recording late beats
// not at all.
func resolveDefaultRoute(ctx context.Context, cfg *configs.Config, log *slog.Logger) error {
	iface, gw, err := waitDefaultRoute(ctx, log)
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		return fmt.Errorf("%s leaves the interface or a trigger target to the default route, but: %w "+
			"(name the interface in capture.interfaces, and targets in triggers, in a config file)", cfg.Source, err)
	}
	gateway := ""
	if gw.IsValid() {
		gateway = gw.String()
	}
	dropped := cfg.ResolveGateway(iface, gateway)
	log.Info("using the default route", "interface", iface, "gateway", gateway)
	if len(dropped) > 0 {
		log.Warn("the default route has no gateway: triggers on the gateway are off", "triggers", dropped)
	}
	return nil
}

func waitDefaultRoute(ctx context.Context, log *slog.Logger) (string, netip.Addr, error) {
	for logged := false; ; logged = true {
		iface, gw, err := netstate.DefaultRoute(ctx)
		if !errors.Is(err, netstate.ErrNoDefaultRoute) {
			return iface, gw, err
		}
		if !logged {
			log.Warn("no default route yet: waiting for one, to know which interface to record and which gateway to watch")
		}
		select {
		case <-ctx.Done():
			return "", netip.Addr{}, ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}
