package ring

import (
	"os"

	"golang.org/x/sys/windows"
)

// createSegment creates a new segment file for writing, shared for delete:
// a snapshot freezes the current segment by hard link, and on Windows no
// link of a file can be removed (nor the file renamed) while it is open
// without FILE_SHARE_DELETE. os.OpenFile does not ask for it.
func createSegment(path string) (*os.File, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, &os.PathError{Op: "create", Path: path, Err: err}
	}
	h, err := windows.CreateFile(p, windows.GENERIC_WRITE,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, windows.CREATE_NEW, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		return nil, &os.PathError{Op: "create", Path: path, Err: err}
	}
	return os.NewFile(uintptr(h), path), nil
}
