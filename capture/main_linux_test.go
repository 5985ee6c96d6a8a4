package capture

import "runtime"

// Keep the main goroutine on the main thread for the whole test binary, so
// no nstest.Host.Do goroutine ever runs there: a goroutine that exits while
// locked to the main thread wedges that thread instead of ending it, it
// stays in the test namespace, "ip netns pids" then lists this process, and
// the host's cleanup kills the test binary with SIGKILL.
func init() { runtime.LockOSThread() }
