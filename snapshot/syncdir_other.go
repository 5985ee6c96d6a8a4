//go:build !windows

package snapshot

import "os"

// syncDir makes the entries of dir (creates, renames) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
