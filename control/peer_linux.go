package control

import (
	"fmt"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// checkPeer allows root, the daemon's own user, and members of the socket's
// group (the 0660 mode already says so; this checks the primary group the
// kernel reports for the peer).
func checkPeer(c net.Conn, path string) error {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return fmt.Errorf("control: not a unix connection: %T", c)
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return fmt.Errorf("control: peer credentials: %w", err)
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return fmt.Errorf("control: peer credentials: %w", err)
	}
	if credErr != nil {
		return fmt.Errorf("control: peer credentials: %w", credErr)
	}
	if cred.Uid == 0 || int(cred.Uid) == os.Geteuid() {
		return nil
	}
	if fi, err := os.Stat(path); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Gid == cred.Gid {
			return nil
		}
	}
	return fmt.Errorf("control: peer pid %d uid %d gid %d is not allowed", cred.Pid, cred.Uid, cred.Gid)
}
