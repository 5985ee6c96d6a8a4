package wine

import (
	"sync"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Version returns Wine's version and true when the process runs under Wine,
// told by ntdll.dll exporting wine_get_version (Windows' ntdll does not).
func Version() (string, bool) { return version() }

var version = sync.OnceValues(func() (string, bool) {
	p := windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version")
	if p.Find() != nil {
		return "", false
	}
	r, _, _ := p.Call()
	if r == 0 {
		return "unknown", true
	}
	// r points into ntdll, not Go memory.
	return windows.BytePtrToString((*byte)(*(*unsafe.Pointer)(unsafe.Pointer(&r)))), true
})
