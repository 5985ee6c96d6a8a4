//go:build !linux

package ring

// dirWatch is not implemented here: the Writer looks for a removed ring
// directory every FlushInterval. (On Windows a directory with open files
// cannot be removed or renamed anyway.)
type dirWatch struct{}

func watchDir(dir, lock string) *dirWatch { return nil }

func (d *dirWatch) takeChanged() bool { return false }

func (d *dirWatch) close() {}
