package upload

// syncDir is a no-op on Windows, where directories cannot be fsynced;
// NTFS journals the rename itself.
func syncDir(string) error { return nil }
