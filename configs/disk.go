package configs

import "github.com/arpbox/arpbox/ring"

// DiskWarnings says where the configured sizes do not fit the file systems
// that hold them: ring.max_size larger than the ring's file system, or,
// with snapshots.dir on the same one, ring.max_size plus snapshots.max_size.
// The configuration stays valid (free space then bounds the ring), but a
// snapshot may find no room. Shown by check-config and logged at start.
func (c *Config) DiskWarnings() []string {
	if w := ring.SpaceWarning(c.Ring.Dir, c.Ring.MaxBytes, "ring.max_size"); w != "" {
		return []string{w}
	}
	if ring.SameFileSystem(c.Ring.Dir, c.Snapshots.Dir) {
		if w := ring.SpaceWarning(c.Ring.Dir, c.Ring.MaxBytes+c.Snapshots.MaxSize, "ring.max_size plus snapshots.max_size (one file system)"); w != "" {
			return []string{w}
		}
	}
	return nil
}
