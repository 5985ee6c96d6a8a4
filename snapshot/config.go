package snapshot

import (
	"errors"
	"fmt"
	"time"
)

// Defaults for the snapshots section of the configuration.
const (
	DefaultBefore   = 10 * time.Minute
	DefaultAfter    = time.Minute
	DefaultCooldown = 5 * time.Minute
	DefaultMaxCount = 50
	DefaultMaxSize  = 5 << 30 // 5GiB
)

// Config is the snapshots section of the configuration.
//
// Dir must be on the same filesystem as the ring directory: segments are
// frozen by hard link, which is O(1). On another filesystem the snapshotter
// falls back to copying the segments (slow, logged).
type Config struct {
	Dir      string        // snapshots.dir: where bundles are published
	Before   time.Duration // snapshots.before: window kept before the trigger time T
	After    time.Duration // snapshots.after: window recorded after T
	Cooldown time.Duration // snapshots.cooldown: minimum time between accepted triggers
	MaxCount int           // snapshots.max_count: bundles kept (oldest pruned first)
	MaxSize  int64         // snapshots.max_size: bytes kept over all bundles (dir + zip)
}

// DefaultConfig returns the configuration used when a key is not set. Dir
// has no default here: configs puts it below data_dir, the one place that
// knows the platform's data directory.
func DefaultConfig() Config {
	return Config{
		Before:   DefaultBefore,
		After:    DefaultAfter,
		Cooldown: DefaultCooldown,
		MaxCount: DefaultMaxCount,
		MaxSize:  DefaultMaxSize,
	}
}

// Validate checks c. Each error message starts with the YAML key it is about.
func (c Config) Validate() error {
	var errs []error
	if c.Dir == "" {
		errs = append(errs, errors.New("dir: must not be empty"))
	}
	if c.Before <= 0 {
		errs = append(errs, fmt.Errorf("before: must be positive, got %v", c.Before))
	}
	if c.After < 0 {
		errs = append(errs, fmt.Errorf("after: must not be negative, got %v", c.After))
	}
	if c.Cooldown < 0 {
		errs = append(errs, fmt.Errorf("cooldown: must not be negative, got %v", c.Cooldown))
	}
	if c.MaxCount < 1 {
		errs = append(errs, fmt.Errorf("max_count: must be at least 1, got %d", c.MaxCount))
	}
	if c.MaxSize < 1<<20 {
		errs = append(errs, fmt.Errorf("max_size: must be at least 1MiB, got %d bytes", c.MaxSize))
	}
	return errors.Join(errs...)
}
