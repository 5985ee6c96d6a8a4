// Package filekind names a file's type (directory, symlink, FIFO…) for
// error messages about what is in the way of a path arpbox wants.
package filekind

import "io/fs"

// Of names the type of a file of mode m, e.g. "directory" or "FIFO".
func Of(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&fs.ModeSymlink != 0:
		return "symlink"
	case m&fs.ModeNamedPipe != 0:
		return "FIFO"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	case m.IsRegular():
		return "regular file"
	}
	return "file of mode " + m.String()
}
