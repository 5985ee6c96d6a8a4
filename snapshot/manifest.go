package snapshot

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"
)

const (
	captureName  = "capture.pcapng.gz"
	manifestName = "manifest.json"
	readmeName   = "README.txt"

	// manifestFormat is bumped when the manifest changes incompatibly.
	manifestFormat = 1
)

// Manifest is manifest.json: what the bundle holds and how it was made.
type Manifest struct {
	Format        int              `json:"format"`
	ID            string           `json:"id"`
	ArpboxVersion string           `json:"arpbox_version"`
	Host          string           `json:"host"`
	Created       time.Time        `json:"created"`
	Trigger       ManifestTrigger  `json:"trigger"`
	Window        ManifestWindow   `json:"window"`
	Capture       ManifestCapture  `json:"capture"`
	Interfaces    []ManifestIface  `json:"interfaces"`
	Segments      []ManifestSeg    `json:"segments"`
	Freeze        ManifestFreeze   `json:"freeze"`
	ConfigDigest  string           `json:"config_digest,omitempty"`
	Collectors    []ManifestResult `json:"collectors,omitempty"`
	Files         []ManifestFile   `json:"files"`
}

// ManifestTrigger is the trigger event.
type ManifestTrigger struct {
	Name   string    `json:"name"`
	Check  string    `json:"check"`
	Target string    `json:"target,omitempty"`
	Reason string    `json:"reason"`
	Time   time.Time `json:"time"` // T
}

// ManifestWindow is the window asked for and the one the capture covers.
type ManifestWindow struct {
	Requested Window `json:"requested"` // [T-before, T+after]
	Before    string `json:"before"`
	After     string `json:"after"`
	// Covered: first and last packet in the capture, and the start of the
	// oldest segment that was available.
	FirstPacket        *time.Time `json:"first_packet,omitempty"`
	LastPacket         *time.Time `json:"last_packet,omitempty"`
	OldestSegmentStart *time.Time `json:"oldest_segment_start,omitempty"`
	// ShortBy is set when the ring did not reach back to T-before.
	ShortBy string `json:"short_by,omitempty"`
	// EndedEarly is when arpbox shut down before T+after: the bundle was
	// written then, with what had been recorded.
	EndedEarly *time.Time `json:"ended_early,omitempty"`
	Note       string     `json:"note,omitempty"`
}

// ManifestCapture describes capture.pcapng.
type ManifestCapture struct {
	File          string     `json:"file"`
	Packets       uint64     `json:"packets"`
	TriggerPacket uint64     `json:"trigger_packet,omitempty"` // 1-based frame number carrying the trigger comment
	TriggerTime   *time.Time `json:"trigger_packet_time,omitempty"`
	TriggerNote   string     `json:"trigger_note,omitempty"`
	OutOfOrder    uint64     `json:"out_of_order,omitempty"`
	TornSegments  []string   `json:"torn_segments,omitempty"`
	Unreadable    []string   `json:"unreadable_segments,omitempty"`
}

// ManifestIface is one capture interface.
type ManifestIface struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Filter      string `json:"filter,omitempty"`
	OS          string `json:"os,omitempty"`
	Configured  bool   `json:"configured"`
	InCapture   bool   `json:"in_capture"`
	Packets     uint64 `json:"packets"`
	// Drops: Kind is "window" (difference of the ring's statistics blocks
	// around the window, DropsFrom..DropsTo), "cumulative" (since arpbox
	// started, no earlier statistics available) or "unknown".
	Dropped   *uint64    `json:"dropped,omitempty"`
	Received  *uint64    `json:"received,omitempty"`
	DropsKind string     `json:"drops_kind"`
	DropsFrom *time.Time `json:"drops_from,omitempty"`
	DropsTo   *time.Time `json:"drops_to,omitempty"`
}

// ManifestSeg is one ring segment the capture was merged from.
type ManifestSeg struct {
	Name   string `json:"name"`
	Seq    uint64 `json:"seq"`
	Bytes  int64  `json:"bytes"`
	Copied bool   `json:"copied,omitempty"`
}

// ManifestFreeze says how the window was pinned.
type ManifestFreeze struct {
	At         time.Time `json:"at"`
	DurationMS float64   `json:"duration_ms"`
	Method     string    `json:"method"` // hardlink | copy
	RingBytes  int64     `json:"ring_bytes"`
	RingSegs   int       `json:"ring_segments"`
}

// ManifestResult is one collector's outcome.
type ManifestResult struct {
	Name       string  `json:"name"`
	OK         bool    `json:"ok"`
	Error      string  `json:"error,omitempty"`
	DurationMS float64 `json:"duration_ms"`
}

// ManifestFile is one file of the bundle (all but manifest.json).
type ManifestFile struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// hashFiles lists the regular files of dir except the manifest, with sizes and SHA-256.
func hashFiles(dir string) ([]ManifestFile, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []ManifestFile
	for _, e := range ents {
		if !e.Type().IsRegular() || e.Name() == manifestName {
			continue
		}
		// opened for writing only so that Sync works everywhere (Windows
		// cannot flush a read-only handle)
		f, err := os.OpenFile(filepath.Join(dir, e.Name()), os.O_RDWR, 0)
		if err != nil {
			return nil, err
		}
		h := sha256.New()
		n, err := io.Copy(h, f)
		if err == nil {
			err = f.Sync() // collectors' files too are durable before the rename
		}
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("hash %s: %w", e.Name(), err)
		}
		out = append(out, ManifestFile{Name: e.Name(), Size: n, SHA256: hex.EncodeToString(h.Sum(nil))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// listFiles lists the regular files of dir with their sizes (no hashes).
func listFiles(dir string) ([]ManifestFile, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []ManifestFile
	for _, e := range ents {
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() {
			out = append(out, ManifestFile{Name: e.Name(), Size: fi.Size()})
		}
	}
	return out, nil
}

// ReadManifest reads manifest.json from a bundle directory.
func ReadManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, manifestName))
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("parse %s: %w", filepath.Join(dir, manifestName), err)
	}
	return &m, nil
}

func timePtr(t time.Time) *time.Time { return &t }

func u64Ptr(v uint64) *uint64 { return &v }
