package ring

import (
	"errors"
	"fmt"
	"time"
)

// Default values filled in by Config.WithDefaults.
const (
	DefaultSegmentBytes  = 10 << 20
	DefaultSegmentAge    = 5 * time.Minute
	DefaultMaxBytes      = 1 << 30
	DefaultFlushInterval = time.Second

	// MinSegmentBytes is the smallest segment_size Validate accepts.
	MinSegmentBytes = 64 << 10
	// MaxSegmentBytes is the largest segment_size Validate accepts.
	MaxSegmentBytes = 4 << 30
)

// Interface describes one captured interface; each becomes an interface
// description block in every segment, in configuration order.
type Interface struct {
	Name        string // if_name, e.g. "eth1"
	Description string // if_description (optional)
	Filter      string // if_filter as text, e.g. "arp"
	OS          string // if_os; "" = this host's (HostInfo().OS), except on the packet clock
	SnapLen     int    // snaplen; 0 = unlimited
	LinkType    uint16 // LINKTYPE_* of the frames; 0 = Ethernet (replay keeps a file's own)
}

// Config bounds the ring. Zero values of SegmentBytes, SegmentAge, MaxBytes
// and FlushInterval mean the defaults (see WithDefaults); zero MaxSegments,
// MinFreePercent and MinFreeBytes mean no such limit.
type Config struct {
	Dir            string        // ring.dir
	SegmentBytes   int64         // ring.segment_size: rotate before a segment grows past this
	SegmentAge     time.Duration // ring.segment_duration: rotate a segment this old (wall clock)
	MaxBytes       int64         // ring.max_size: bytes of all segments, current included
	MaxSegments    int           // ring.max_segments: number of segments, current included
	MinFreePercent float64       // ring.min_free as a percentage of the file system
	MinFreeBytes   int64         // ring.min_free as a size
	FlushInterval  time.Duration // buffered data reaches the file at least this often
}

// WithDefaults returns c with zero values replaced by the defaults.
func (c Config) WithDefaults() Config {
	if c.SegmentBytes == 0 {
		c.SegmentBytes = DefaultSegmentBytes
	}
	if c.SegmentAge == 0 {
		c.SegmentAge = DefaultSegmentAge
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = DefaultFlushInterval
	}
	return c
}

// Validate checks c (with defaults applied for zero values). Each error
// message starts with the YAML key it is about, e.g.
// "segment_size: must be at least 64KiB".
func (c Config) Validate() error {
	d := c.WithDefaults()
	var errs []error
	if c.Dir == "" {
		errs = append(errs, errors.New("dir: must not be empty"))
	}
	switch {
	case d.SegmentBytes < MinSegmentBytes:
		errs = append(errs, fmt.Errorf("segment_size: must be at least 64KiB, got %d bytes", d.SegmentBytes))
	case d.SegmentBytes > MaxSegmentBytes:
		errs = append(errs, fmt.Errorf("segment_size: must be at most 4GiB, got %d bytes", d.SegmentBytes))
	}
	if d.SegmentAge < time.Second {
		errs = append(errs, fmt.Errorf("segment_duration: must be at least 1s, got %v", d.SegmentAge))
	}
	if d.MaxBytes < 2*d.SegmentBytes {
		errs = append(errs, fmt.Errorf("max_size: must be at least twice segment_size (%d bytes), got %d bytes", 2*d.SegmentBytes, d.MaxBytes))
	}
	if d.MaxSegments < 0 || d.MaxSegments == 1 {
		errs = append(errs, fmt.Errorf("max_segments: must be 0 (no limit) or at least 2, got %d", d.MaxSegments))
	}
	if d.MinFreePercent < 0 || d.MinFreePercent > 90 || d.MinFreePercent != d.MinFreePercent {
		errs = append(errs, fmt.Errorf("min_free: percentage must be between 0%% and 90%%, got %v%%", d.MinFreePercent))
	}
	if d.MinFreeBytes < 0 {
		errs = append(errs, fmt.Errorf("min_free: must not be negative, got %d bytes", d.MinFreeBytes))
	}
	if d.FlushInterval < 10*time.Millisecond || d.FlushInterval > time.Minute {
		errs = append(errs, fmt.Errorf("flush_interval: must be between 10ms and 1m, got %v", d.FlushInterval))
	}
	return errors.Join(errs...)
}
