//go:build !windows

package control

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/arpbox/arpbox/internal/filekind"
)

// listen creates the unix socket at path: its directory safely (see
// socketDir), then the socket, with acc's mode and group. An existing
// socket is replaced only when nobody answers on it (a stale one, left by
// a killed arpbox); a live one gives ErrInUse, and anything else at the
// path (a regular file, a directory, a symlink) an error naming it, left
// in place. Connections from peers that may not control arpbox are
// answered 403 and closed.
func listen(path string, acc Access, log *slog.Logger) (net.Listener, error) {
	acc = acc.withDefaults()
	gid := -1
	if acc.Group != "" {
		g, err := lookupGroup(acc.Group)
		if err != nil {
			return nil, fmt.Errorf("control socket %s: control.group: %w", path, err)
		}
		gid = g
	}
	if err := socketDir(filepath.Dir(path), gid, log); err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	if err := clearStale(path); err != nil {
		return nil, err
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	ul := ln.(*net.UnixListener)
	ul.SetUnlinkOnClose(false) // removeOwned removes it, if it is still ours
	if err := os.Chmod(path, acc.Mode); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	if gid >= 0 {
		if err := os.Lchown(path, -1, gid); err != nil {
			ln.Close()
			return nil, fmt.Errorf("control socket %s: chown to group %s: %w", path, acc.Group, err)
		}
	}
	made, err := os.Lstat(path)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	return &peerCheckListener{Listener: ln, path: path, made: made, log: log}, nil
}

// clearStale makes room for the socket at path: nothing there is fine; a
// socket nobody answers on is removed; a socket that answers is ErrInUse;
// anything else is an error, and stays.
func clearStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("control socket %s: %w", path, err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("control socket %s: a %s is in the way (arpbox removes only a stale socket): remove it or set another control.socket", path, filekind.Of(fi.Mode()))
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	switch {
	case err == nil:
		c.Close()
		return fmt.Errorf("%s: %w", path, ErrInUse)
	case errors.Is(err, syscall.ECONNREFUSED):
		// Stale: its listener is gone.
	default:
		return fmt.Errorf("control socket %s: cannot tell whether another arpbox serves it: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("control socket %s: removing the stale socket: %w", path, err)
	}
	return nil
}

// socketDir makes sure dir, the socket's directory, is a directory (not a
// symlink to one) that nobody but its owner can change, unless its owner
// is root or arpbox's own user. Missing directories are created one at a
// time, 0750, without following a symlink (mkdir never does), each in a
// parent held to the same rule; the last one is given group gid (when not
// -1) so the group can reach the socket.
func socketDir(dir string, gid int, log *slog.Logger) error {
	dir = filepath.Clean(dir)
	fi, err := os.Lstat(dir)
	if err == nil {
		if err := safeDir(dir, fi); err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && gid >= 0 && int(st.Gid) != gid && fi.Mode().Perm()&0o001 == 0 {
			// Not ours to change (systemd's RuntimeDirectory, say): say why
			// the group will not get in.
			log.Warn("members of control.group cannot reach the socket: its directory belongs to another group and others may not enter it",
				"dir", dir, "dir_gid", st.Gid, "dir_mode", fi.Mode().Perm().String(), "control_gid", gid)
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	parent := filepath.Dir(dir)
	if parent == dir {
		return fmt.Errorf("directory %s: %w", dir, err)
	}
	if err := socketDir(parent, -1, log); err != nil {
		return err
	}
	made := true
	if err := os.Mkdir(dir, 0o750); errors.Is(err, fs.ErrExist) {
		made = false // made by someone else meanwhile: checked below all the same
	} else if err != nil {
		return fmt.Errorf("creating directory %s: %w", dir, err)
	}
	if fi, err = os.Lstat(dir); err != nil {
		return err
	}
	if err := safeDir(dir, fi); err != nil {
		return err
	}
	if !made {
		return nil
	}
	if gid >= 0 {
		if err := os.Lchown(dir, -1, gid); err != nil {
			return fmt.Errorf("directory %s: chown to the control group: %w", dir, err)
		}
	}
	log.Info("created the control socket's directory", "dir", dir)
	return nil
}

// safeDir refuses a symlink or non-directory, and a directory that users
// other than its owner may change (group or other write, without the
// sticky bit of /tmp) when that owner is neither root nor this process's
// user: whoever can write it could swap the socket for their own.
func safeDir(dir string, fi fs.FileInfo) error {
	if fi.Mode()&fs.ModeSymlink != 0 {
		return fmt.Errorf("directory %s is a symlink: arpbox does not follow one to its control socket", dir)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is a %s, not a directory", dir, filekind.Of(fi.Mode()))
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	loose := fi.Mode().Perm()&0o022 != 0 && fi.Mode()&fs.ModeSticky == 0
	if loose && st.Uid != 0 && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("directory %s is owned by uid %d and writable by others (mode %v): refusing to put the control socket there", dir, st.Uid, fi.Mode().Perm())
	}
	return nil
}

// lookupGroup resolves a group name or number.
func lookupGroup(name string) (int, error) {
	if n, err := strconv.Atoi(name); err == nil && n >= 0 {
		return n, nil
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, fmt.Errorf("no group %q on this host", name)
	}
	return strconv.Atoi(g.Gid)
}

func dial(ctx context.Context, path string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "unix", path)
}

// removeOwned removes the socket the listener made, if the path still
// names it (not one another arpbox put there since).
func (l *peerCheckListener) removeOwned() {
	if l.made == nil {
		return
	}
	if now, err := os.Lstat(l.path); err == nil && os.SameFile(now, l.made) {
		_ = os.Remove(l.path)
	}
}

// CheckPath checks a control.socket setting: any path is a unix socket.
func CheckPath(path string) error { return nil }

// CheckAccess checks control.group and control.mode: the mode gives
// read and write to the owner, and nothing to others beyond the group.
func CheckAccess(group string, mode fs.FileMode) error {
	if mode == 0 {
		return nil
	}
	if mode&^0o770 != 0 {
		return fmt.Errorf("mode %#o gives access beyond the owner and control.group (want 0600, 0660 or between)", mode)
	}
	if mode&0o600 != 0o600 {
		return fmt.Errorf("mode %#o: the owner (arpbox) needs read and write (want 0600, 0660 or between)", mode)
	}
	return nil
}
