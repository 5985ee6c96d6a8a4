//go:build !windows

package upload

import "os"

// syncDir makes the entries of dir (creates, renames, removes) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
