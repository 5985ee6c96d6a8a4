package netstate

import "runtime"

// Workaround for nstest.Host.Do, reported to the lead: Do leaves its
// namespace by letting its locked goroutine exit, which ends the thread —
// except the main thread, which the Go runtime cannot end and instead parks
// for good, still inside the namespace. `ip netns pids` then lists the test
// binary, and nstest's cleanup kill -9s it ("signal: killed"). Locking the
// main goroutine to the main thread from init (the one documented way to
// pin it) keeps every Do goroutine off the main thread.
func init() { runtime.LockOSThread() }
