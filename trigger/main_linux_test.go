package trigger

import "runtime"

// Keep the main goroutine on the main thread. nstest.Host.Do throws away the
// thread it ran on; if that were the main thread, Go would park it inside the
// namespace instead, /proc/<pid>/ns/net would name the namespace, and the
// namespace cleanup ("ip netns pids" + kill) would kill the test binary.
func init() { runtime.LockOSThread() }
