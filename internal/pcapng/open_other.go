//go:build !windows

package pcapng

import "os"

func openFile(path string) (*os.File, error) { return os.Open(path) }
