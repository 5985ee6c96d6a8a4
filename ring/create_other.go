//go:build !windows

package ring

import "os"

// createSegment creates a new segment file for writing.
func createSegment(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
}
