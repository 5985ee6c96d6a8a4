// Package trigger decides when an incident happened: health checks, manual and file triggers, each emitting a bundle.Event.
//
// Triggers emit events; they never act on them.
package trigger

import (
	"time"

	"github.com/arpbox/arpbox/bundle"
)

// Manual builds the Event for a trigger a person or program asked for: the
// CLI over the control socket, the API, a signal or a trigger file. source
// names it and becomes both Trigger and Check ("manual", "api", "signal",
// "file"); reason is sanitized (printable, one line, at most MaxReasonLen
// characters) and defaults to "<source> trigger".
func Manual(reason, source string) bundle.Event {
	return manualAt(reason, source, time.Now())
}

func manualAt(reason, source string, now time.Time) bundle.Event {
	r := SanitizeReason([]byte(reason))
	if r == "" {
		r = source + " trigger"
	}
	return bundle.Event{Trigger: source, Check: source, Reason: r, Time: now}
}
