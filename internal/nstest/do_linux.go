package nstest

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// Do runs fn inside the namespace, on a goroutine locked to an OS thread
// that has joined it, and returns fn's error. The thread then returns to the
// namespace it came from and is unlocked; if it cannot return, it is thrown
// away (the goroutine exits while still locked). Either way no other
// goroutine ever runs in the namespace by accident. Sockets fn opens stay in
// the namespace for their whole life, whichever thread later uses them;
// goroutines that fn starts do not inherit the namespace.
func (h *Host) Do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- fmt.Errorf("nstest: open own netns: %w", err)
			return // still locked: the thread is discarded
		}
		defer orig.Close()
		f, err := os.Open("/var/run/netns/" + h.NS)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("nstest: open netns %s: %w", h.NS, err)
			return
		}
		err = unix.Setns(int(f.Fd()), unix.CLONE_NEWNET)
		f.Close()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("nstest: setns %s: %w", h.NS, err)
			return
		}
		ferr := fn()
		if unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		errc <- ferr
	}()
	return <-errc
}
