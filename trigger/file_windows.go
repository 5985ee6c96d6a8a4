package trigger

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/windows"
)

// openTrigger opens the trigger file at path for reading without following
// a reparse point (FILE_FLAG_OPEN_REPARSE_POINT: a symlink or junction is
// opened itself, then refused), then checks what it opened: a disk file
// (not a pipe or device), not a directory or reparse point, with one link.
// Who may write it is the directory's ACL's business on Windows. A missing
// file gives an error wrapping fs.ErrNotExist; a refused one a
// *refusedError.
func openTrigger(path string) (*os.File, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	h, err := windows.CreateFile(p, windows.GENERIC_READ,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE, nil,
		windows.OPEN_EXISTING, windows.FILE_FLAG_OPEN_REPARSE_POINT|windows.FILE_FLAG_BACKUP_SEMANTICS, 0)
	if err != nil {
		if errors.Is(err, windows.ERROR_FILE_NOT_FOUND) || errors.Is(err, windows.ERROR_PATH_NOT_FOUND) {
			return nil, &os.PathError{Op: "open", Path: path, Err: os.ErrNotExist}
		}
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	refuse := func(why string, remove bool) (*os.File, error) {
		windows.CloseHandle(h)
		return nil, &refusedError{path: path, why: why, remove: remove}
	}
	if t, err := windows.GetFileType(h); err != nil || t != windows.FILE_TYPE_DISK {
		return refuse("not a disk file (a pipe or device)", false)
	}
	var info windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(h, &info); err != nil {
		windows.CloseHandle(h)
		return nil, fmt.Errorf("trigger file %s: %w", path, err)
	}
	switch {
	case info.FileAttributes&windows.FILE_ATTRIBUTE_REPARSE_POINT != 0:
		return refuse("a symlink or other reparse point, not a regular file", false)
	case info.FileAttributes&windows.FILE_ATTRIBUTE_DIRECTORY != 0:
		return refuse("a directory, not a regular file", false)
	case info.NumberOfLinks != 1:
		return refuse(fmt.Sprintf("has %d hard links (a trigger file has one)", info.NumberOfLinks), true)
	}
	return os.NewFile(uintptr(h), path), nil
}
