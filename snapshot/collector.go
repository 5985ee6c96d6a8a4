package snapshot

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/arpbox/arpbox/bundle"
)

// Collector adds files to a bundle after capture.pcapng.gz is written and
// before the manifest is computed. Its error is recorded in the manifest; it never
// aborts the bundle.
type Collector interface {
	Name() string
	Collect(ctx context.Context, b *Bundle) error
}

// Freezer is a Collector whose content must be taken at T, the moment of the
// failure, not when the bundle is written at T+after. Freeze is called while
// the snapshot is frozen; it returns the Collector that writes what it saw
// into this bundle (so two queued snapshots never share state). A non-nil
// Collector is used even when err is set (e.g. to write a partial result).
type Freezer interface {
	Collector
	Freeze(ctx context.Context, ev bundle.Event) (Collector, error)
}

// A Streamer is a Collector that reads the capture while the merge writes
// it, instead of reading the file back afterwards. Stream is called once per
// bundle, before the merge; the StreamCollector it returns sees every packet
// written into capture.pcapng.gz, in order, and then takes the Streamer's
// place among the bundle's collectors (its Collect runs after the capture is
// complete, with the others).
type Streamer interface {
	Collector
	Stream(b *Bundle) StreamCollector
}

// StreamCollector is one bundle's Streamer. Packet is called on the merging
// goroutine for every packet: captured at ts (Unix nanoseconds) on an
// interface of link type linkType (LINKTYPE_*); data is valid only during
// the call. The frame number is the count of calls so far.
type StreamCollector interface {
	Collector
	Packet(ts int64, linkType int, data []byte)
}

// Bundle is the bundle being written, as collectors see it.
type Bundle struct {
	ID          string
	Dir         string // staging directory; files written here are published
	Event       bundle.Event
	Window      bundle.Window // the requested window [T-before, T+after]
	CapturePath string        // the merged capture.pcapng.gz
}

// WriteFile creates name in the bundle, lets write fill it, and syncs it.
// name must be a plain file name.
func (b *Bundle) WriteFile(name string, write func(w io.Writer) error) error {
	if name == "" || name != filepath.Base(name) || strings.HasPrefix(name, ".") || name == manifestName {
		return fmt.Errorf("bundle file %q: not a plain file name", name)
	}
	p := filepath.Join(b.Dir, name)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fileMode)
	if err != nil {
		return fmt.Errorf("bundle file %s: %w", name, err)
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("bundle file %s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("bundle file %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("bundle file %s: %w", name, err)
	}
	return nil
}
