// Package trigger decides when an incident happened: health checks, manual and file triggers, each emitting an Event.
package trigger

import (
	"time"
)

// Event is one declared incident. Triggers emit events; they never act on them.
type Event struct {
	Trigger string    // configured name ("web1"), or "manual", "signal", "file", "api"
	Check   string    // icmp|tcp|http|arp|neighbor|haproxy|exec|manual|signal|file|api
	Target  string    // what was checked, or where a manual trigger came from
	Reason  string    // human text: "3 consecutive failures: dial tcp 10.0.0.5:80: i/o timeout"
	Time    time.Time // T: when the failure was declared
}

// Manual builds the Event for a trigger a person or program asked for: the
// CLI over the control socket, the API, a signal or a trigger file. source
// names it and becomes both Trigger and Check ("manual", "api", "signal",
// "file"); reason is sanitized (printable, one line, at most MaxReasonLen
// characters) and defaults to "<source> trigger".
func Manual(reason, source string) Event {
	return manualAt(reason, source, time.Now())
}

func manualAt(reason, source string, now time.Time) Event {
	r := SanitizeReason([]byte(reason))
	if r == "" {
		r = source + " trigger"
	}
	return Event{Trigger: source, Check: source, Reason: r, Time: now}
}
