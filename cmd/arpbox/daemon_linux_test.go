package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/arpbox/arpbox/internal/nstest"
)

// daemonProc is an arpbox run inside a test namespace.
type daemonProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	mu   sync.Mutex
	logs bytes.Buffer
	done chan struct{}
}

// startDaemon runs `arpbox run -config cfg` inside h and stops it (SIGTERM,
// then waits) when the test ends.
func startDaemon(t *testing.T, h *nstest.Host, cfg string) *daemonProc {
	t.Helper()
	return startCommand(t, h.Command(context.Background(), binPath, "run", "-config", cfg))
}

// startCommand starts cmd (an arpbox run), collects its log, and stops it
// when the test ends.
func startCommand(t *testing.T, cmd *exec.Cmd) *daemonProc {
	t.Helper()
	p := &daemonProc{t: t, cmd: cmd, done: make(chan struct{})}
	pr, pw, _ := os.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = pw, pw
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			p.mu.Lock()
			p.logs.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("arpbox log:\n%s", p.log())
		}
	})
	return p
}

func (p *daemonProc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// waitLog waits until the log holds s.
func (p *daemonProc) waitLog(s string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if strings.Contains(p.log(), s) {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// stop sends SIGTERM and waits for a clean exit; returns the exit error.
func (p *daemonProc) stop() error {
	if p.cmd.ProcessState != nil {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	errc := make(chan error, 1)
	go func() { errc <- p.cmd.Wait() }()
	select {
	case err := <-errc:
		<-p.done
		return err
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-errc
		return fmt.Errorf("arpbox did not stop within 15s of SIGTERM")
	}
}

func (p *daemonProc) kill9() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	_ = p.cmd.Wait()
	<-p.done
}

// recorderOpts are extra YAML lines for each section of a live test's
// configuration; the capture interface and every path are filled in.
type recorderOpts struct {
	ring, snapshots, control string // lines inside the section, unindented
	triggers                 string // the items of triggers:, as written
}

// startRecorder runs arpbox inside h, capturing on iface, with its ring,
// snapshots and control socket under dir, and waits until it records.
func startRecorder(t *testing.T, h *nstest.Host, iface, dir string, o recorderOpts) *daemonProc {
	t.Helper()
	indent := func(s string) string {
		var b strings.Builder
		for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
			if l != "" {
				b.WriteString("  " + strings.TrimSpace(l) + "\n")
			}
		}
		return b.String()
	}
	body := fmt.Sprintf("capture:\n  interfaces: [%s]\nring:\n  dir: %s/ring\n%ssnapshots:\n  dir: %s/snapshots\n%scontrol:\n  socket: %s/arpbox.sock\n%s",
		iface, dir, indent(o.ring), dir, indent(o.snapshots), dir, indent(o.control))
	if o.triggers != "" {
		body += "triggers:\n" + o.triggers
	}
	d := startDaemon(t, h, writeConfig(t, body))
	if !d.waitLog("arpbox recording", 20*time.Second) {
		t.Fatal("arpbox did not start recording")
	}
	return d
}
