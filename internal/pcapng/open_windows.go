package pcapng

import (
	"os"

	"golang.org/x/sys/windows"
)

// openFile opens path for reading, shared for delete: the files arpbox
// reads (ring segments, frozen links to them) are renamed and removed by
// the ring while they are read, which Windows refuses for a file opened
// without FILE_SHARE_DELETE, as os.Open opens it.
func openFile(path string) (*os.File, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	h, err := windows.CreateFile(p, windows.GENERIC_READ,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(h), path), nil
}
