package snapshot

// DefaultDir is where bundles go when snapshots.dir is not set.
const DefaultDir = `C:\ProgramData\arpbox\snapshots`
