//go:build !linux

package ring

import (
	"errors"
	"fmt"
	"os"
)

// reopenForRead cannot reach a file whose name is gone on this platform.
func reopenForRead(*os.File) (*os.File, error) {
	return nil, fmt.Errorf("reopen a removed segment: %w", errors.ErrUnsupported)
}
