package trigger

import "time"

// SignalSource fires when the process receives SIGUSR1 (on Unix; on Windows
// there is no such signal and Run only waits for cancellation). Events have
// Trigger and Check "signal", Target "SIGUSR1" and Reason "SIGUSR1 received";
// whoever receives them logs them.
type SignalSource struct {
	now func() time.Time
}

// NewSignalSource returns a signal source. It starts nothing: the signal is
// subscribed to only while Run runs.
func NewSignalSource() *SignalSource {
	return &SignalSource{now: time.Now}
}
