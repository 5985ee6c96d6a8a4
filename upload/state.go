package upload

import (
	"sync"
	"time"
)

// QueueState is what `arpbox status` shows of the upload queue.
type QueueState struct {
	Store string `json:"store"` // s3://bucket/prefix
	// Pending is the number of bundles waiting to be uploaded (-1 when the
	// queue directory cannot be read).
	Pending int `json:"pending"`
	// LastError is the last failed attempt's error, until the next
	// successful upload clears it.
	LastError   string    `json:"last_error,omitempty"`
	LastErrorID string    `json:"last_error_bundle,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
}

// State reports the queue's length and the last upload error; safe for
// concurrent use.
func (u *Uploader) State() QueueState {
	st := QueueState{Store: u.store.String(), Pending: -1}
	if ids, err := u.q.ids(pendingDir); err == nil {
		st.Pending = len(ids)
	}
	u.last.mu.Lock()
	st.LastError, st.LastErrorID, st.LastErrorAt = u.last.err, u.last.id, u.last.at
	u.last.mu.Unlock()
	return st
}

// lastError is the last failed upload attempt.
type lastError struct {
	mu  sync.Mutex
	err string
	id  string
	at  time.Time
}

// set records the outcome of an attempt to upload id: an error replaces
// the last one, a success clears it.
func (l *lastError) set(id string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err == nil {
		l.err, l.id, l.at = "", "", time.Time{}
		return
	}
	l.err, l.id, l.at = err.Error(), id, time.Now().UTC()
}
