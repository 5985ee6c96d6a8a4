package capture

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// checkIfaceName checks an interface name against Linux's limit
// (IFNAMSIZ less the NUL).
func checkIfaceName(name string) error {
	if len(name) > 15 {
		return fmt.Errorf("interfaces: %q is longer than 15 bytes, the limit for interface names", name)
	}
	return nil
}

// liveAvailable: AF_PACKET is always there; permissions show at open.
func liveAvailable() error { return nil }

// netlinkWatch is a NETLINK_ROUTE socket subscribed to link events
// (RTMGRP_LINK), read through the Go netpoller by the goroutine that waits
// to reopen an interface: no goroutine of its own.
type netlinkWatch struct {
	name string
	file *os.File
	rc   syscall.RawConn
	buf  []byte
}

// watchLink subscribes to link events in the calling thread's network
// namespace (Run's: the namespace the interface is opened in).
func watchLink(name string) (linkWatcher, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("link events: netlink socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: unix.RTMGRP_LINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("link events: bind: %w", err)
	}
	f := os.NewFile(uintptr(fd), "netlink-link:"+name)
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("link events: %w", err)
	}
	return &netlinkWatch{name: name, file: f, rc: rc, buf: make([]byte, 32<<10)}, nil
}

// wait returns true once a link message about the interface (by name:
// a recreated interface has a new index) arrives, or when the socket
// overflowed (an event may be lost); false after d or when ctx is done.
func (w *netlinkWatch) wait(ctx context.Context, d time.Duration) bool {
	deadline := time.Now().Add(d)
	if err := w.file.SetReadDeadline(deadline); err != nil {
		return false
	}
	stop := context.AfterFunc(ctx, func() { _ = w.file.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	for range 1000 { // bounded: each round reads at least one message or returns
		if ctx.Err() != nil {
			return false
		}
		changed := false
		err := w.rc.Read(func(fd uintptr) bool {
			n, _, err := unix.Recvfrom(int(fd), w.buf, 0)
			switch {
			case errors.Is(err, unix.EAGAIN):
				return false
			case errors.Is(err, unix.ENOBUFS):
				changed = true // overflowed: something may have been missed
				return true
			case err != nil:
				return true
			}
			changed = w.about(w.buf[:n])
			return true
		})
		if err != nil {
			return false // the deadline, or ctx
		}
		if changed {
			return true
		}
	}
	return false
}

// about reports whether the netlink messages in b concern the interface.
func (w *netlinkWatch) about(b []byte) bool {
	msgs, err := syscall.ParseNetlinkMessage(b)
	if err != nil {
		return false
	}
	for _, m := range msgs {
		if m.Header.Type != unix.RTM_NEWLINK && m.Header.Type != unix.RTM_DELLINK {
			continue
		}
		attrs, err := syscall.ParseNetlinkRouteAttr(&m)
		if err != nil {
			continue
		}
		for _, a := range attrs {
			if a.Attr.Type == unix.IFLA_IFNAME && len(a.Value) > 0 {
				v := a.Value
				if v[len(v)-1] == 0 {
					v = v[:len(v)-1]
				}
				if string(v) == w.name {
					return true
				}
			}
		}
	}
	return false
}

func (w *netlinkWatch) close() { _ = w.file.Close() }
