//go:build !linux && !darwin && !freebsd && !windows

package recorder

import "errors"

// diskFree is not implemented here: the metric is left out.
func diskFree(string) (uint64, error) { return 0, errors.ErrUnsupported }
