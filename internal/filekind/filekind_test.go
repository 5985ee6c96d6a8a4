package filekind

import (
	"io/fs"
	"testing"
)

func TestOf(t *testing.T) {
	for _, tc := range []struct {
		m    fs.FileMode
		want string
	}{
		{0o644, "regular file"},
		{fs.ModeDir | 0o755, "directory"},
		{fs.ModeSymlink | 0o777, "symlink"},
		{fs.ModeNamedPipe | 0o600, "FIFO"},
		{fs.ModeSocket | 0o600, "socket"},
		{fs.ModeDevice | fs.ModeCharDevice | 0o600, "device"},
		{fs.ModeIrregular, "file of mode ?---------"},
	} {
		if got := Of(tc.m); got != tc.want {
			t.Errorf("Of(%v) = %q, want %q", tc.m, got, tc.want)
		}
	}
}
