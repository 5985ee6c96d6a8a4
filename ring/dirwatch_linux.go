package ring

import (
	"os"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// dirWatch tells the Writer when its directory or lock file may have gone
// (inotify), so that looking for a removed ring directory costs no system
// call while nothing happens to them: on an idle host a stat a second was
// a sixth of arpbox's CPU time. One goroutine, owned by the dirWatch,
// sleeps in the runtime's poller until an event comes or close is called.
type dirWatch struct {
	f       *os.File
	changed atomic.Bool
	done    chan struct{}
}

// watchDir watches dir (removed or renamed) and its lock file lock
// (unlinked, renamed, or its attributes changed: unlinking changes its
// link count). It returns nil when inotify is not available; the Writer
// then looks every FlushInterval.
func watchDir(dir, lock string) *dirWatch {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil
	}
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_DELETE_SELF|unix.IN_MOVE_SELF|unix.IN_ONLYDIR); err != nil {
		unix.Close(fd)
		return nil
	}
	if _, err := unix.InotifyAddWatch(fd, lock, unix.IN_ATTRIB|unix.IN_DELETE_SELF|unix.IN_MOVE_SELF); err != nil {
		unix.Close(fd)
		return nil
	}
	d := &dirWatch{f: os.NewFile(uintptr(fd), "inotify:"+dir), done: make(chan struct{})}
	go d.run()
	return d
}

func (d *dirWatch) run() {
	defer close(d.done)
	buf := make([]byte, 4096) // any event (or a queue overflow) means: look
	for {
		if _, err := d.f.Read(buf); err != nil {
			return // closed
		}
		d.changed.Store(true)
	}
}

// takeChanged reports whether an event came since the last call.
func (d *dirWatch) takeChanged() bool { return d.changed.Swap(false) }

// close stops the watch and waits for its goroutine. A nil dirWatch is
// fine.
func (d *dirWatch) close() {
	if d == nil {
		return
	}
	d.f.Close()
	<-d.done
}
