package bundle

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"time"
)

// JournalEntry is one neighbor or link change seen during the window.
// journal.json holds a JSON array of them, oldest first, indented two
// spaces, times on the packets' clock; it is the JSON form of
// netstate.Change.
type JournalEntry struct {
	Time   time.Time  `json:"time"`
	Kind   string     `json:"kind"` // "neighbor" | "link"
	Iface  string     `json:"iface"`
	IP     netip.Addr `json:"ip,omitzero"`      // neighbor changes
	MAC    string     `json:"mac,omitempty"`    // "02:ab:00:00:01:01"
	State  string     `json:"state,omitempty"`  // neighbor: REACHABLE, STALE, FAILED, …; link: UP, DOWN, …
	Detail string     `json:"detail,omitempty"` // "REACHABLE -> FAILED", "speed 1000Mb/s -> 100Mb/s"
}

// WriteJournal writes entries as journal.json ("[]" for none).
func WriteJournal(w io.Writer, entries []JournalEntry) error {
	if entries == nil {
		entries = []JournalEntry{}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(entries); err != nil {
		return fmt.Errorf("write %s: %w", FileJournalJSON, err)
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write %s: %w", FileJournalJSON, err)
	}
	return nil
}

// ReadJournal reads a journal.json of at most MaxJournalSize bytes.
func ReadJournal(r io.Reader) ([]JournalEntry, error) {
	b, err := readLimited(r, MaxJournalSize)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", FileJournalJSON, err)
	}
	var entries []JournalEntry
	if err := json.Unmarshal(b, &entries); err != nil {
		return nil, fmt.Errorf("parse %s: %w", FileJournalJSON, err)
	}
	return entries, nil
}
