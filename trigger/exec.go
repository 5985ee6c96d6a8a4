package trigger

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sync"
	"time"
)

// execOutputMax is how much of a command's combined stdout and stderr ends up
// in the reason; the rest is read and discarded so the command never blocks.
const execOutputMax = 1024

// execWaitDelay bounds how long a probe waits for a killed command's pipes
// (held open by grandchildren that escaped the process group) to close.
const execWaitDelay = 500 * time.Millisecond

// execCheck runs argv directly (never through a shell) and succeeds on exit
// status 0. On timeout the whole process group is killed (on Unix; on
// Windows the process).
type execCheck struct{ argv []string }

func newExecCheck(argv []string) (*execCheck, error) {
	if len(argv) == 0 || argv[0] == "" {
		return nil, errors.New("exec: empty command")
	}
	return &execCheck{argv: append([]string(nil), argv...)}, nil
}

func (c *execCheck) Probe(ctx context.Context) error {
	cmd := exec.CommandContext(ctx, c.argv[0], c.argv[1:]...)
	out := &limitedBuffer{max: execOutputMax}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = execWaitDelay
	killGroupOnCancel(cmd)
	err := cmd.Run()
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("killed after %w", ctx.Err())
	}
	msg := SanitizeReason(out.Bytes())
	if msg != "" {
		return fmt.Errorf("exec %s: %w: %s", c.argv[0], err, msg)
	}
	return fmt.Errorf("exec %s: %w", c.argv[0], err)
}

// limitedBuffer keeps the first max bytes written and drops the rest.
type limitedBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := l.max - len(l.b); room > 0 {
		l.b = append(l.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (l *limitedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]byte(nil), l.b...)
}
