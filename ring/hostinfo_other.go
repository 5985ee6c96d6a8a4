//go:build !linux && !windows

package ring

// hostInfo knows nothing more than the Go runtime on other systems.
func hostInfo() Host { return Host{} }
