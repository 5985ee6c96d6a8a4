package recorder

import (
	"context"
	"fmt"
	"net"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/arpbox/arpbox/configs"
	"github.com/arpbox/arpbox/control"
	"github.com/arpbox/arpbox/snapshot"
)

// newMetrics registers the recorder's metrics on Options.Registry, or on a
// registry of its own (with the Go runtime's and the process's metrics).
func (r *Recorder) newMetrics() error {
	reg := r.opts.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		r.opts.Registry = reg
	}
	m, err := newMetrics(r, reg)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	r.metrics = m
	return nil
}

// listenHTTP reads the token and opens control.listen; run serves it.
func (r *Recorder) listenHTTP() (ln net.Listener, run func(context.Context) error, err error) {
	c := r.cfg.Control
	hc := control.HTTPConfig{Addr: c.Listen, TLSCert: c.TLSCert, TLSKey: c.TLSKey}
	if c.TokenFile != "" {
		if hc.Token, err = configs.ReadToken(c.TokenFile); err != nil {
			return nil, nil, err
		}
	}
	srv := control.NewHTTPServer(hc, r.api(), r.log.With("part", "http")).WithFleet(r.fleetAPI())
	if ln, err = srv.Listen(); err != nil {
		return nil, nil, err
	}
	r.log.Info("HTTP API listening", "addr", ln.Addr().String(), "tls", c.TLSCert != "", "token", c.TokenFile != "")
	return ln, serveAgain(ln, srv.Listen, srv.Run), nil
}

// bundleZip returns the zip of the bundle id, if the snapshots directory
// lists one by that id: the id is matched against what exists, never joined
// to a path.
func (r *Recorder) bundleZip(id string) (string, error) {
	infos, err := snapshot.List(r.cfg.Snapshots.Dir)
	if err != nil {
		return "", err
	}
	for _, in := range infos {
		if in.ID != id {
			continue
		}
		if in.Zip == "" || filepath.Dir(in.Zip) != filepath.Clean(r.cfg.Snapshots.Dir) {
			return "", fmt.Errorf("bundle %s has no zip: %w", id, control.ErrNotFound)
		}
		return in.Zip, nil
	}
	return "", fmt.Errorf("bundle %s: %w", id, control.ErrNotFound)
}
