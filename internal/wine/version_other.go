//go:build !windows

package wine

// Version reports false: only a Windows binary can run under Wine.
func Version() (string, bool) { return "", false }
