//go:build !race

package snapshot

// raceEnabled shrinks the large-ring tests under the race detector.
const raceEnabled = false
