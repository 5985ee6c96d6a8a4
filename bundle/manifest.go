package bundle

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// FormatVersion is the manifest format this package writes and the newest it
// reads. It is bumped when the manifest changes incompatibly.
const FormatVersion = 1

// Manifest is manifest.json: what the bundle holds and how it was made.
type Manifest struct {
	Format        int              `json:"format"` // FormatVersion when written; 0 in hand-made manifests
	ID            string           `json:"id"`
	ArpboxVersion string           `json:"arpbox_version"`
	Host          string           `json:"host"`
	Created       time.Time        `json:"created"`
	Trigger       Event            `json:"trigger"`
	Window        ManifestWindow   `json:"window"`
	Capture       ManifestCapture  `json:"capture"`
	Interfaces    []ManifestIface  `json:"interfaces"`
	Segments      []ManifestSeg    `json:"segments"`
	Freeze        ManifestFreeze   `json:"freeze"`
	ConfigDigest  string           `json:"config_digest,omitempty"`
	Collectors    []ManifestResult `json:"collectors,omitempty"`
	Files         []ManifestFile   `json:"files"`

	// ClockSteps lists the steps of the wall clock within the window.
	ClockSteps []ManifestClockStep `json:"clock_steps,omitempty"`
	// Peers are the other hosts asked to freeze the same incident, as this
	// host (the initiator) saw them when it wrote the bundle.
	Peers []ManifestPeer `json:"peers,omitempty"`
}

// Origin records the peer request that started a bundle and the clock
// evidence it carried: the initiator's send time and this host's receive
// time. Received-Sent bounds this host's clock offset against the
// initiator's from above (the request's one-way delay is included); the
// initiator's manifest holds the two-way estimate (ManifestPeer.OffsetMS).
type Origin struct {
	Host     string    `json:"host"`     // the initiator's host name
	T        time.Time `json:"t"`        // T on the initiator's clock
	Sent     time.Time `json:"sent"`     // on the initiator's clock
	Received time.Time `json:"received"` // on this host's clock
	// OffsetBoundMS is Received-Sent: this host's clock minus the
	// initiator's is at most this.
	OffsetBoundMS float64 `json:"offset_bound_ms"`
}

// Peer states in ManifestPeer.State.
const (
	PeerOK      = "ok"      // the peer accepted the incident
	PeerPending = "pending" // still being retried when the bundle was written
	PeerMissing = "missing" // given up: Error says why
)

// ManifestPeer is one peer asked to freeze the same incident.
type ManifestPeer struct {
	Name     string     `json:"name"`
	URL      string     `json:"url"`
	Host     string     `json:"host,omitempty"` // the peer's host name, from its reply
	State    string     `json:"state"`
	Error    string     `json:"error,omitempty"` // the last failure
	Attempts int        `json:"attempts"`
	Accepted *time.Time `json:"accepted,omitempty"` // on this host's clock
	// OffsetMS is the peer's clock minus this host's, NTP-style from the
	// accepted request ((t2-t1)+(t3-t4))/2, good to ±RTTMS/2.
	OffsetMS *float64 `json:"offset_ms,omitempty"`
	RTTMS    *float64 `json:"rtt_ms,omitempty"`
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

// ManifestClockStep is a step of the wall clock that the ring recorded
// among the window's segments. Packet times jump by Step there (they are
// wall-clock times); the window was chosen on arpbox's monotonic timeline,
// so the step cost no packet of the window.
type ManifestClockStep struct {
	At           time.Time `json:"at"`            // wall clock just after the step
	Step         string    `json:"step"`          // e.g. "-5m0s", "1h0m0s"
	FirstSegment uint64    `json:"first_segment"` // first ring segment started after it
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

// WriteManifest writes m as indented JSON.
func WriteManifest(w io.Writer, m *Manifest) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return fmt.Errorf("write %s: %w", FileManifest, err)
	}
	return nil
}

// ReadManifest reads a manifest of at most MaxManifestSize bytes. Unknown
// fields are ignored; a format newer than FormatVersion is ErrFormat.
func ReadManifest(r io.Reader) (*Manifest, error) {
	b, err := readLimited(r, MaxManifestSize)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", FileManifest, err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("parse %s: %w", FileManifest, err)
	}
	if m.Format > FormatVersion {
		return nil, fmt.Errorf("%s: %w %d (this arpbox reads up to %d)", FileManifest, ErrFormat, m.Format, FormatVersion)
	}
	return &m, nil
}

// ReadManifestDir reads manifest.json from the bundle directory dir.
func ReadManifestDir(dir string) (*Manifest, error) {
	p := filepath.Join(dir, FileManifest)
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := ReadManifest(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return m, nil
}

// readLimited reads all of r, or fails with ErrTooLarge past max bytes.
func readLimited(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, max)
	}
	return b, nil
}
