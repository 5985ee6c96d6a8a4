package ring

import (
	"fmt"
	"os"
)

// reopenForRead opens for reading the file f has open, even when its
// name is gone (the ring directory was removed): /proc/self/fd reaches
// the inode.
func reopenForRead(f *os.File) (*os.File, error) {
	return os.Open(fmt.Sprintf("/proc/self/fd/%d", f.Fd()))
}
