//go:build !windows

package upload

import (
	"fmt"
	"os"
)

// checkSecretMode refuses a secret file that group or others may access.
func checkSecretMode(fi os.FileInfo) error {
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("mode %04o lets group or others read it: chmod 600", perm)
	}
	return nil
}
