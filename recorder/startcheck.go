package recorder

import (
	"fmt"
	"os"
)

// checkWritable makes sure a bundle can be written into dir (snapshots.dir)
// when the recorder starts, not at the first incident: it creates the
// directory if needed, then creates and removes a file in it.
func checkWritable(key, dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("%s %s: cannot create it: %w", key, dir, err)
	}
	f, err := os.CreateTemp(dir, ".arpbox-write-check-*")
	if err != nil {
		return fmt.Errorf("%s %s is not writable, so no bundle could be written: %w", key, dir, err)
	}
	name := f.Name()
	f.Close()
	if err := os.Remove(name); err != nil {
		return fmt.Errorf("%s %s: removing the write check %s: %w", key, dir, name, err)
	}
	return nil
}
