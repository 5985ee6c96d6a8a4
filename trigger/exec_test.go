package trigger

import (
	"context"
	"path/filepath"
	"regexp"
	"runtime"
	"testing"
	"time"
)

func TestExecCheck(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("skipping on Windows: the cases run POSIX true, false, sh, echo and sleep")
	}
	dir := t.TempDir()
	tests := []struct {
		name    string
		argv    []string
		timeout time.Duration
		want    string // regexp for the error; "" = success
	}{
		{"true", []string{"true"}, time.Second, ""},
		{"false", []string{"false"}, time.Second, `^exec false: exit status 1$`},
		{"output in reason", []string{"sh", "-c", "echo backend  says\tno >&2; echo 'line 2'; exit 3"}, time.Second, `^exec sh: exit status 3: backend says no line 2$`},
		{"no shell", []string{"echo", "$HOME", ";", "false"}, time.Second, ""},
		{"missing", []string{filepath.Join(dir, "nope")}, time.Second, `no such file or directory`},
		{"long output cut", []string{"sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x; exit 1"}, time.Second, `^exec sh: exit status 1: x{197}\.\.\.$`},
		{"hangs past timeout", []string{"sleep", "10"}, 500 * time.Millisecond, `^exec sleep: killed after context deadline exceeded`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewCheck(Spec{Name: "x", Check: CheckExec, Command: tc.argv}, nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), tc.timeout)
			defer cancel()
			start := time.Now()
			err = c.Probe(ctx)
			if took := time.Since(start); took > tc.timeout+time.Second {
				t.Errorf("probe took %v with timeout %v", took, tc.timeout)
			}
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Probe = %v, want nil", err)
			case tc.want != "" && (err == nil || !regexp.MustCompile(tc.want).MatchString(err.Error())):
				t.Errorf("Probe = %v, want match %q", err, tc.want)
			}
		})
	}
}
