// Package bundle defines the incident bundle's on-disk format: its file names, the manifest and journal schemas, and the trigger event that starts one.
//
// A bundle is a directory <id>/ holding the files named below, published
// with a copy packed as <id>.zip (entries <id>/<file>). The snapshot package
// writes bundles; arpbox report and arpbox snapshots read them. Readers
// bound what they read (MaxManifestSize, MaxJournalSize) and refuse a
// manifest of a newer format than FormatVersion.
package bundle

import (
	"errors"
	"strings"
	"time"
)

// The files of a bundle.
const (
	// FileCapture holds every recorded frame of the window, the trigger
	// packet commented: gzip-compressed pcapng, which Wireshark, tshark and
	// capinfos read directly. Bundles before the capture was compressed
	// hold FileCapturePlain instead.
	FileCapture      = "capture.pcapng.gz"
	FileCapturePlain = "capture.pcapng"
	FileNetstateJSON = "netstate.json" // the host's network state at T
	FileNetstateText = "netstate.txt"
	FileJournalJSON  = "journal.json" // neighbor and link changes during the window: see JournalEntry
	FileJournalText  = "journal.txt"
	FileReportText   = "report.txt" // arpbox's reading of the capture
	FileReportJSON   = "report.json"
	FileReportHTML   = "report.html"
	FileManifest     = "manifest.json" // see Manifest
	FileReadme       = "README.txt"    // what the bundle holds, for whoever receives it
	ZipExt           = ".zip"          // <id>.zip next to the directory <id>
)

// Limits on what a reader reads.
const (
	MaxManifestSize = 16 << 20
	MaxJournalSize  = 64 << 20
)

// Errors of the readers.
var (
	// ErrTooLarge: a file is larger than its Max…Size.
	ErrTooLarge = errors.New("bundle: file too large")
	// ErrFormat: the manifest's format is newer than FormatVersion.
	ErrFormat = errors.New("bundle: unknown manifest format")
)

// Event is one declared incident: what a trigger emits and what starts a
// bundle. The manifest records it as its "trigger" object.
type Event struct {
	Trigger string    `json:"name"`             // configured name ("web1"), or "manual", "signal", "file", "api"
	Check   string    `json:"check"`            // icmp|tcp|http|arp|neighbor|haproxy|exec|arp-unanswered|arp-conflict|manual|signal|file|api|alertmanager|peer
	Target  string    `json:"target,omitempty"` // what was checked, or where a manual trigger came from
	Reason  string    `json:"reason"`           // human text: "3 consecutive failures: dial tcp 10.0.0.5:80: i/o timeout"
	Time    time.Time `json:"time"`             // T: when the failure was declared
	// Incident names the incident across hosts: every host's bundle of it
	// (the initiator's and its peers') carries the same id.
	Incident string `json:"incident,omitempty"`
	// Origin is set when a peer asked this host to freeze the incident.
	Origin *Origin `json:"origin,omitempty"`
	// Before and After, when positive, replace the configured window
	// around T (a peer asks for the initiator's window).
	Before time.Duration `json:"-"`
	After  time.Duration `json:"-"`
}

// Window is a time range, both ends inclusive.
type Window struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// ValidID reports whether id can name a bundle or an incident: 1 to 128 bytes of
// letters, digits, '-', '_' and '.', not starting with '.', no "..". So it
// never names a path outside the snapshots directory ('/', '\\', NUL and
// ".." are refused before any file is looked at).
func ValidID(id string) bool {
	if id == "" || len(id) > 128 || id[0] == '.' || strings.Contains(id, "..") {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
