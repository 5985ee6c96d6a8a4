package nstest

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// Do runs fn inside the namespace, on a goroutine locked to an OS thread that
// has joined it, and returns fn's error. The thread is thrown away afterwards
// (the goroutine exits while still locked), so no other goroutine ever runs
// in the namespace by accident. Sockets fn opens stay in the namespace for
// their whole life, whichever thread later uses them; goroutines that fn
// starts do not inherit the namespace.
func (h *Host) Do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// No UnlockOSThread: the thread dies with the goroutine.
		f, err := os.Open("/var/run/netns/" + h.NS)
		if err != nil {
			errc <- fmt.Errorf("nstest: open netns %s: %w", h.NS, err)
			return
		}
		err = unix.Setns(int(f.Fd()), unix.CLONE_NEWNET)
		f.Close()
		if err != nil {
			errc <- fmt.Errorf("nstest: setns %s: %w", h.NS, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}
