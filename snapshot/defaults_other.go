//go:build !linux && !windows

package snapshot

// DefaultDir is where bundles go when snapshots.dir is not set.
const DefaultDir = "/var/lib/arpbox/snapshots"
