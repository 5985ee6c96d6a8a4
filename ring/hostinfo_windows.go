package ring

import (
	"fmt"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

// hostInfo reads the CPU model from the registry (ProcessorNameString, as
// dumpcap does) and the Windows version from RtlGetVersion, which, unlike
// GetVersionEx, does not lie to programs without a manifest.
func hostInfo() Host {
	var h Host
	if v := windows.RtlGetVersion(); v != nil && v.MajorVersion != 0 {
		h.OS = fmt.Sprintf("Windows %d.%d (build %d)", v.MajorVersion, v.MinorVersion, v.BuildNumber)
	}
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, `HARDWARE\DESCRIPTION\System\CentralProcessor\0`, registry.QUERY_VALUE)
	if err == nil {
		if s, _, err := k.GetStringValue("ProcessorNameString"); err == nil {
			h.Hardware = s
		} else if s, _, err := k.GetStringValue("Identifier"); err == nil {
			h.Hardware = s
		}
		k.Close()
	}
	return h
}
