package service

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"
)

// FromEnv returns the notifier systemd asked for through $NOTIFY_SOCKET
// (Type=notify) and $WATCHDOG_USEC/$WATCHDOG_PID (WatchdogSec=), or nil
// when arpbox was not started that way. It unsets the variables, so that
// commands arpbox runs (exec checks) do not inherit them.
func FromEnv(log *slog.Logger) (*Notifier, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	path := os.Getenv("NOTIFY_SOCKET")
	usec, pid := os.Getenv("WATCHDOG_USEC"), os.Getenv("WATCHDOG_PID")
	for _, k := range []string{"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"} {
		os.Unsetenv(k)
	}
	if path == "" {
		return nil, nil
	}
	n := &Notifier{log: log}
	if usec != "" && (pid == "" || pid == strconv.Itoa(os.Getpid())) {
		us, err := strconv.ParseInt(usec, 10, 64)
		if err != nil || us <= 0 {
			return nil, fmt.Errorf("service: WATCHDOG_USEC=%q is not a positive number of microseconds", usec)
		}
		n.watchdog = time.Duration(us) * time.Microsecond
	}
	name := path
	if name[0] == '@' { // abstract namespace
		name = "\x00" + name[1:]
	}
	addr := &net.UnixAddr{Name: name, Net: "unixgram"}
	n.send = func(msg string) error {
		// A socket per message, as sd_notify does: the manager may come
		// and go (daemon-reexec) and a datagram socket costs nothing idle.
		c, err := net.DialUnix("unixgram", nil, addr)
		if err != nil {
			return fmt.Errorf("service: notify socket %s: %w", path, err)
		}
		defer c.Close()
		_, err = c.Write([]byte(msg))
		return err
	}
	return n, nil
}
