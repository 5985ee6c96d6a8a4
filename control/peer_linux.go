package control

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// checkPeer allows root, the daemon's own user, and members of the socket's
// group (the 0660 mode already says so): the peer's primary group, which the
// kernel reports, or a supplementary one from /proc/<pid>/status.
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
	group := "?"
	if fi, err := os.Stat(path); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			if st.Gid == cred.Gid || inGroup(cred.Pid, st.Gid) {
				return nil
			}
			group = strconv.FormatUint(uint64(st.Gid), 10)
		}
	}
	return fmt.Errorf("peer pid %d uid %d is neither root, arpbox's user (uid %d), nor in the socket's group (gid %s)", cred.Pid, cred.Uid, os.Geteuid(), group)
}

// inGroup reports whether process pid has gid among its supplementary groups.
func inGroup(pid int32, gid uint32) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		groups, ok := strings.CutPrefix(line, "Groups:")
		if !ok {
			continue
		}
		for _, g := range strings.Fields(groups) {
			if n, err := strconv.ParseUint(g, 10, 32); err == nil && uint32(n) == gid {
				return true
			}
		}
	}
	return false
}
