package netstate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// DefaultJournalSize is the ring size NewJournal uses when max <= 0.
const DefaultJournalSize = 4096

// Journal keeps the last changes Watch reported, in memory, so an incident
// bundle can hold what happened to neighbors and links during its window.
// On link events it also re-reads speed and duplex (ethtool), so "eth1 speed
// 1000Mb/s -> 100Mb/s" is journaled like any other change.
//
// Call Run once; Between and Len may be called from any goroutine, before,
// during and after Run.
type Journal struct {
	log *slog.Logger
	max int

	mu   sync.Mutex
	ring []Change // oldest first once full: ring[next:] then ring[:next]
	next int
	full bool
	// dropped counts changes pushed out of the full ring; droppedUntil is
	// the time of the newest of them.
	dropped      uint64
	droppedUntil time.Time
}

// NewJournal returns a journal that keeps the last max changes (max <= 0
// means DefaultJournalSize). It starts nothing; call Run.
func NewJournal(log *slog.Logger, max int) *Journal {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if max <= 0 {
		max = DefaultJournalSize
	}
	return &Journal{log: log, max: max, ring: make([]Change, 0, min(max, 256))}
}

// add records c, dropping the oldest change when the ring is full.
func (j *Journal) add(c Change) {
	j.mu.Lock()
	if len(j.ring) < j.max {
		j.ring = append(j.ring, c)
	} else {
		old := j.ring[j.next]
		j.dropped++
		if old.Time.After(j.droppedUntil) {
			j.droppedUntil = old.Time
		}
		j.ring[j.next] = c
		j.next = (j.next + 1) % j.max
		j.full = true
	}
	j.mu.Unlock()
	level := slog.LevelDebug
	if c.Kind == KindLink || c.State == StateFailed || c.State == StateIncomplete {
		level = slog.LevelInfo
	}
	j.log.Log(context.Background(), level, "netstate change", "kind", c.Kind, "iface", c.Iface, "ip", c.IP,
		"state", c.State, "detail", c.Detail)
}

// Len returns how many changes the journal holds.
func (j *Journal) Len() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.ring)
}

// Dropped returns how many changes the full journal pushed out, and the
// time of the newest of them: a window that starts before it is incomplete.
func (j *Journal) Dropped() (n uint64, until time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.dropped, j.droppedUntil
}

// Between returns the recorded changes with from <= Time <= to, oldest
// first. A zero from or to leaves that end open.
func (j *Journal) Between(from, to time.Time) []Change {
	j.mu.Lock()
	all := make([]Change, 0, len(j.ring))
	all = append(all, j.ring[j.next:]...)
	all = append(all, j.ring[:j.next]...)
	j.mu.Unlock()
	out := []Change{}
	for _, c := range all {
		if !from.IsZero() && c.Time.Before(from) {
			continue
		}
		if !to.IsZero() && c.Time.After(to) {
			continue
		}
		out = append(out, c)
	}
	// Changes arrive in order; the sort only guards against a wall clock
	// that stepped back.
	sort.SliceStable(out, func(a, b int) bool { return out[a].Time.Before(out[b].Time) })
	return out
}

// WriteChangesJSON writes cs as an indented JSON array of Change objects
// (fields: time, kind, iface, ip, mac, state, detail).
func WriteChangesJSON(w io.Writer, cs []Change) error {
	if cs == nil {
		cs = []Change{}
	}
	var b bytes.Buffer
	if err := encodeIndent(&b, cs); err != nil {
		return fmt.Errorf("netstate: write journal json: %w", err)
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("netstate: write journal json: %w", err)
	}
	return nil
}

// ReadChangesJSON reads what WriteChangesJSON wrote.
func ReadChangesJSON(r io.Reader) ([]Change, error) {
	var cs []Change
	if err := json.NewDecoder(r).Decode(&cs); err != nil {
		return nil, fmt.Errorf("netstate: read journal json: %w", err)
	}
	return cs, nil
}

// WriteChangesText writes cs as one line per change, UTC timestamps with
// microseconds so they line up with packet times:
//
//	2026-11-26 12:03:11.123456 UTC  neighbor  eth1  10.0.0.5  FAILED  REACHABLE -> FAILED
//	2026-11-26 12:03:15.000001 UTC  link      eth1  -         DOWN    carrier lost, oper UP -> DOWN
func WriteChangesText(w io.Writer, cs []Change) error {
	ew := &errWriter{w: w}
	if len(cs) == 0 {
		ew.printf("(no neighbor or link changes recorded)\n")
	}
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	for _, c := range cs {
		what := "-"
		if c.IP.IsValid() {
			what = c.IP.String()
		}
		var detail []string
		if c.Detail != "" {
			detail = append(detail, c.Detail)
		}
		if c.Kind == KindNeighbor && len(c.MAC) > 0 {
			detail = append(detail, "lladdr "+c.MAC.String())
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.Time.UTC().Format(textTime), c.Kind, c.Iface, what,
			orDash(c.State), strings.Join(detail, "; "))
	}
	_ = tw.Flush()
	if ew.err != nil {
		return fmt.Errorf("netstate: write journal text: %w", ew.err)
	}
	return nil
}
