package control

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestOtherUsersRefused connects as user nobody, from a thread that drops
// its credentials (Linux credentials are per thread; the thread is thrown
// away afterwards).
func TestOtherUsersRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: needs root to connect as another user")
	}
	path, _ := serve(t, API{Status: func() any { return "ok" }})
	letOthersIn(t, path) // only the socket's mode and the peer check stand in the way
	for _, mode := range []os.FileMode{0o660, 0o666} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		errc := make(chan error, 1)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
			if _, _, e := syscall.RawSyscall(syscall.SYS_SETRESGID, 65534, 65534, 65534); e != 0 {
				errc <- e
				return
			}
			if _, _, e := syscall.RawSyscall(syscall.SYS_SETRESUID, 65534, 65534, 65534); e != 0 {
				errc <- e
				return
			}
			c, err := net.Dial("unix", path)
			if err != nil {
				errc <- err
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(c, "GET /v1/status HTTP/1.0\r\n\r\n")
			b, _ := io.ReadAll(c)
			if strings.HasPrefix(string(b), "HTTP/1.1 403 ") && strings.Contains(string(b), "permission denied") {
				errc <- fmt.Errorf("refused by the daemon: %q", b)
				return
			}
			errc <- fmt.Errorf("got an answer: %q", b)
		}()
		if err := <-errc; strings.Contains(err.Error(), "got an answer") {
			t.Errorf("socket mode %o: user nobody %v", mode, err)
		} else {
			t.Logf("socket mode %o: nobody refused: %v", mode, err)
		}
	}
}

// TestSocketGroupAllowed: a member of the socket's group through a
// supplementary group (as with `usermod -aG arpbox alice`) gets in. The
// client is a real process (a copy of this test binary), since the daemon
// reads the peer's groups from /proc, which shows a whole process.
func TestSocketGroupAllowed(t *testing.T) {
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
		t.Skip("skipping: needs root to run a client as another user")
	}
	const group = 4242
	path, _ := serve(t, API{Status: func() any { return "ok" }})
	bin := filepath.Join(filepath.Dir(path), "client.test")
	self, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	letOthersIn(t, path)
	if err := os.Chown(path, 0, group); err != nil {
		t.Fatal(err)
	}
	run := func(groups ...uint32) string {
		cmd := exec.Command(bin, "-test.run=^TestSocketGroupAllowed$")
		cmd.Env = append(os.Environ(), "ARPBOX_CONTROL_CLIENT="+path)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: groups}}
		out, _ := cmd.CombinedOutput()
		return string(out)
	}
	if out := run(group); !strings.Contains(out, "CONNECTED") {
		t.Errorf("member of the socket's group (supplementary) refused: %s", out)
	}
	if out := run(); strings.Contains(out, "CONNECTED") {
		t.Errorf("non-member got in: %s", out)
	}
}

// letOthersIn lets other users reach path: it adds search permission for
// group and others to each directory the test made on the way to it
// (t.TempDir makes them 0700). It stops below the system's temporary
// directory, whose mode belongs to the whole machine: setting /tmp to
// 0755 would lock every other user and apt out of it.
func letOthersIn(t *testing.T, path string) {
	t.Helper()
	top := filepath.Clean(os.TempDir())
	for d := filepath.Dir(path); strings.HasPrefix(d, top+string(filepath.Separator)); d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, st.Mode().Perm()|0o011); err != nil {
			t.Fatal(err)
		}
	}
}
