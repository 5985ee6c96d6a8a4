package control

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// tempAccount makes a group and two users for the test (a member of the
// group and a non-member), removed at cleanup. The names are unique per
// process: other tests may run at the same time.
func tempAccount(t *testing.T) (group, member, other string) {
	t.Helper()
	for _, tool := range []string{"groupadd", "useradd", "userdel", "groupdel", "setpriv"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("skipping: %s not installed", tool)
		}
	}
	id := os.Getpid()
	group, member, other = fmt.Sprintf("abg%d", id), fmt.Sprintf("abm%d", id), fmt.Sprintf("abo%d", id)
	run := func(name string, args ...string) {
		t.Helper()
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	run("groupadd", group)
	t.Cleanup(func() { exec.Command("groupdel", group).Run() })
	run("useradd", "-M", "-N", "-g", "nogroup", "-G", group, "-s", "/usr/sbin/nologin", member)
	t.Cleanup(func() { exec.Command("userdel", member).Run() })
	run("useradd", "-M", "-N", "-g", "nogroup", "-s", "/usr/sbin/nologin", other)
	t.Cleanup(func() { exec.Command("userdel", other).Run() })
	return group, member, other
}

// clientAs runs `status` against path as user name with the groups
// /etc/group gives them (setpriv --init-groups, as a login would), from a
// copy of this test binary in bin.
func clientAs(t *testing.T, bin, path, name string) string {
	t.Helper()
	cmd := exec.Command("setpriv", "--reuid="+name, "--regid=nogroup", "--init-groups", bin, "-test.run=^TestGroupAccess$")
	cmd.Env = append(os.Environ(), "ARPBOX_CONTROL_CLIENT="+path)
	out, _ := cmd.CombinedOutput()
	return string(out)
}

// TestGroupAccess: with control.group set, the socket and the directory
// arpbox creates for it belong to that group; a member of the group uses
// the socket; a non-member is told "permission denied", not "is arpbox
// running?" — both when the file system stops them (socket 0660 in a 0750
// directory) and when the peer check does (the socket made 0666 and its
// directory opened by hand).
func TestGroupAccess(t *testing.T) {
	if sock := os.Getenv("ARPBOX_CONTROL_CLIENT"); sock != "" {
		var v any
		if err := NewClient(sock).Status(context.Background(), &v); err != nil {
			fmt.Println("REFUSED", err)
			return
		}
		fmt.Println("CONNECTED")
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("skipping: needs root to add users and run clients as them")
	}
	group, member, other := tempAccount(t)
	g, err := user.LookupGroup(group)
	if err != nil {
		t.Fatal(err)
	}
	gid, _ := strconv.Atoi(g.Gid)

	base := t.TempDir()
	letOthersIn(t, filepath.Join(base, "x"))
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(base, "client.test")
	self, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "run")
	path := filepath.Join(dir, "arpbox.sock")
	s := NewServer(path, API{Status: func() any { return "ok" }}, nil).WithAccess(Access{Group: group})
	ln, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, ln) }()
	defer func() {
		cancel()
		<-done
	}()

	for _, p := range []struct {
		path string
		mode os.FileMode
	}{{dir, 0o750}, {path, 0o660}} {
		fi, err := os.Lstat(p.path)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if int(st.Gid) != gid || fi.Mode().Perm() != p.mode {
			t.Errorf("%s: gid %d mode %v, want gid %d (%s) mode %v", p.path, st.Gid, fi.Mode().Perm(), gid, group, p.mode)
		}
	}
	if out := clientAs(t, bin, path, member); !strings.Contains(out, "CONNECTED") {
		t.Errorf("member of %s refused: %s", group, out)
	}
	out := clientAs(t, bin, path, other)
	if !strings.Contains(out, "REFUSED") || !strings.Contains(out, "permission denied") || strings.Contains(out, "is arpbox running") {
		t.Errorf("non-member, stopped by the file system: %s", out)
	}
	t.Logf("non-member, file system: %s", strings.TrimSpace(out))

	// Past the file system, the peer check refuses, in words.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	out = clientAs(t, bin, path, other)
	if !strings.Contains(out, "REFUSED") || !strings.Contains(out, "permission denied") || !strings.Contains(out, "403") && !strings.Contains(out, "neither root") {
		t.Errorf("non-member, stopped by the peer check: %s", out)
	}
	t.Logf("non-member, peer check: %s", strings.TrimSpace(out))
	if out := clientAs(t, bin, path, member); !strings.Contains(out, "CONNECTED") {
		t.Errorf("member of %s refused by the peer check: %s", group, out)
	}
}

// TestSocketDirectorySafety: the socket's directory is not reached through
// a symlink, and not put in a directory others may change that belongs to
// someone else; a sticky world-writable directory (/tmp) is fine.
func TestSocketDirectorySafety(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: needs root to make directories owned by another user")
	}
	for _, tc := range []struct {
		name    string
		setup   func(base string) (sock string)
		wantErr string
	}{
		{"symlinked directory", func(base string) string {
			real := filepath.Join(base, "real")
			os.Mkdir(real, 0o750)
			os.Symlink(real, filepath.Join(base, "run"))
			return filepath.Join(base, "run", "arpbox.sock")
		}, "is a symlink"},
		{"symlink on the way to a directory to create", func(base string) string {
			real := filepath.Join(base, "real")
			os.Mkdir(real, 0o750)
			os.Symlink(real, filepath.Join(base, "run"))
			return filepath.Join(base, "run", "arpbox", "arpbox.sock")
		}, "is a symlink"},
		{"loose directory of another user", func(base string) string {
			d := filepath.Join(base, "run")
			os.Mkdir(d, 0o777)
			os.Chmod(d, 0o777)
			os.Chown(d, 65534, 65534)
			return filepath.Join(d, "arpbox.sock")
		}, "owned by uid 65534 and writable by others"},
		{"loose parent of another user", func(base string) string {
			d := filepath.Join(base, "run")
			os.Mkdir(d, 0o777)
			os.Chmod(d, 0o777)
			os.Chown(d, 65534, 65534)
			return filepath.Join(d, "arpbox", "arpbox.sock")
		}, "owned by uid 65534 and writable by others"},
		{"sticky world-writable directory", func(base string) string {
			d := filepath.Join(base, "tmp")
			os.Mkdir(d, 0o777)
			os.Chmod(d, 0o777|os.ModeSticky)
			return filepath.Join(d, "arpbox", "arpbox.sock")
		}, ""},
		{"directory of another user, not loose", func(base string) string {
			d := filepath.Join(base, "run")
			os.Mkdir(d, 0o755)
			os.Chown(d, 65534, 65534)
			return filepath.Join(d, "arpbox.sock")
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sock := tc.setup(t.TempDir())
			ln, err := NewServer(sock, API{}, nil).Listen()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Listen = %v", err)
				}
				ln.Close()
				return
			}
			if err == nil {
				ln.Close()
				t.Fatalf("Listen succeeded, want %q", tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Listen = %v, want %q", err, tc.wantErr)
			}
		})
	}
}
