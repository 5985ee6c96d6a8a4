package snapshot

// umask is none on Windows.
func umask() uint32 { return 0 }

// checkModes: Windows has no Unix permission bits.
const checkModes = false
