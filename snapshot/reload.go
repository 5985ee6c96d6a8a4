package snapshot

import (
	"fmt"
	"path/filepath"
	"slices"
)

// settings are what a configuration reload can change in a running
// Snapshotter. A job copies them when it is accepted and keeps them to the
// end: a bundle in flight is written with the window and the interface
// list it started with.
type settings struct {
	cfg        Config
	interfaces []string
	digest     string
}

// Reconfigure applies a reloaded configuration: before, after, cooldown,
// max_count and max_size, the configured interfaces and the configuration
// digest named in manifests. Requests accepted from now on use them
// (retention too); bundles already accepted keep what they started with.
// The directory cannot change while running: a different Dir is an error
// and nothing is applied. Safe to call from any goroutine.
func (s *Snapshotter) Reconfigure(cfg Config, interfaces []string, digest string) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("snapshots: %w", err)
	}
	if filepath.Clean(cfg.Dir) != filepath.Clean(s.cfg.Dir) {
		return fmt.Errorf("snapshots: dir: cannot move the snapshots from %s to %s while running", s.cfg.Dir, cfg.Dir)
	}
	cfg.Dir = s.cfg.Dir
	s.live.Store(&settings{cfg: cfg, interfaces: slices.Clone(interfaces), digest: digest})
	return nil
}

// current returns the settings in force: the last Reconfigure's, or those
// New was given.
func (s *Snapshotter) current() settings {
	if p := s.live.Load(); p != nil {
		return *p
	}
	return settings{cfg: s.cfg, interfaces: s.opts.Interfaces, digest: s.opts.ConfigDigest}
}
