package ring

import (
	"fmt"
	"os"

	"github.com/arpbox/arpbox/internal/pcapng"
)

// ValidLength returns the length of the well-formed prefix of the pcapng
// file at path without changing it: readers of the current (.part) segment,
// which may end in a half-flushed block, read only that many bytes.
func ValidLength(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("ring: scan %s: %w", path, err)
	}
	defer f.Close()
	res, err := pcapng.Scan(f)
	if err != nil {
		return 0, fmt.Errorf("ring: scan %s: %w", path, err)
	}
	if res.Valid == 0 {
		return 0, fmt.Errorf("ring: scan %s: %w (%w)", path, ErrNotPcapng, res.Stop)
	}
	return res.Valid, nil
}

// Repair truncates the pcapng file at path after its last complete,
// well-formed block (a torn or garbage tail, as left by a crash or a full
// disk) and syncs it (pcapng.Repair: every block's framing is checked).
// It returns the file's new length; a file without a
// complete section header block is left alone and ErrNotPcapng returned.
func Repair(path string) (validBytes int64, err error) {
	res, err := repairFile(path)
	if err != nil {
		return 0, err
	}
	return res.Valid, nil
}

func repairFile(path string) (pcapng.ScanResult, error) {
	res, err := pcapng.Repair(path)
	if err != nil && res.Valid == 0 && res.Stop != nil {
		return res, fmt.Errorf("ring: repair %s: %w (%w)", path, ErrNotPcapng, res.Stop)
	}
	if err != nil {
		return res, fmt.Errorf("ring: %w", err)
	}
	return res, nil
}
