package winetest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arpbox/arpbox/internal/nstest"
)

// Wine 8's binaries as Debian installs them (package wine64).
const (
	Wine64     = "/usr/lib/wine/wine64"
	Wineserver = "/usr/lib/wine/wineserver64"
)

// PrefixEnv names the environment variable holding the Wine prefix that
// scripts/test-windows.sh prepares (Go's bcryptprimitives.dll gap bridged);
// GoflagsEnv holds the go build flags for Windows test binaries (the
// os.RemoveAll overlay).
const (
	PrefixEnv  = "ARPBOX_WINEPREFIX"
	GoflagsEnv = "ARPBOX_WINE_GOFLAGS"
)

// Require skips t unless it runs as root with Wine, the go tool and a
// prepared prefix, returning the prefix.
func Require(t testing.TB) string {
	t.Helper()
	nstest.RequireRoot(t)
	if _, err := os.Stat(Wine64); err != nil {
		t.Skipf("skipping: Wine 8 is not installed (%s); scripts/test-windows.sh installs it", Wine64)
	}
	prefix := os.Getenv(PrefixEnv)
	if prefix == "" {
		t.Skipf("skipping: $%s is not set; scripts/test-windows.sh prepares a Wine prefix and runs this test", PrefixEnv)
	}
	if _, err := os.Stat(filepath.Join(prefix, "system.reg")); err != nil {
		t.Skipf("skipping: $%s=%s is not a Wine prefix: %v", PrefixEnv, prefix, err)
	}
	nstest.RequireTool(t, "go")
	return prefix
}

// BuildTest compiles the test binary of the package in dir for
// windows/amd64 and returns its path.
func BuildTest(t testing.TB, dir string) string {
	t.Helper()
	exe := filepath.Join(t.TempDir(), filepath.Base(dir)+".test.exe")
	args := []string{"test", "-c", "-o", exe}
	if f := os.Getenv(GoflagsEnv); f != "" {
		args = append(args, strings.Fields(f)...)
	}
	cmd := exec.Command("go", append(args, ".")...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go test -c for windows/amd64 in %s: %v\n%s", dir, err, out)
	}
	return exe
}

// Wine is a private Wine prefix whose wineserver runs inside one namespace:
// a wineserver shows the Windows program the interfaces and ARP table of
// the namespace it was started in.
type Wine struct {
	prefix string
	host   *nstest.Host
}

// Start makes a private copy of the prepared prefix (hard links: the DLLs
// are only read; wineserver replaces the registry files by rename), starts
// its wineserver inside h and a wineboot with output to /dev/null (or each
// run whose stdout is a pipe lingers ~2.5 s). The wineserver is killed when
// the test ends.
func Start(t testing.TB, h *nstest.Host) *Wine {
	t.Helper()
	src := Require(t)
	w := &Wine{prefix: filepath.Join(t.TempDir(), "prefix"), host: h}
	if out, err := exec.Command("cp", "-al", src, w.prefix).CombinedOutput(); err != nil {
		os.RemoveAll(w.prefix)
		if out, err := exec.Command("cp", "-a", src, w.prefix).CombinedOutput(); err != nil {
			t.Fatalf("copy Wine prefix %s: %v\n%s", src, err, out)
		}
		t.Logf("hard-linking the prefix failed (%s); copied it", bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		cmd := exec.Command(Wineserver, "-k")
		cmd.Env = w.env(nil)
		_ = cmd.Run()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, argv := range [][]string{{Wineserver, "-p"}, {Wine64, "wineboot"}} {
		cmd := h.Command(ctx, argv...)
		cmd.Env = w.env(nil)
		if err := cmd.Run(); err != nil { // stdio is /dev/null
			t.Fatalf("netns %s: %s: %v", h.NS, strings.Join(argv, " "), err)
		}
	}
	return w
}

func (w *Wine) env(extra []string) []string {
	env := append(os.Environ(), "WINEPREFIX="+w.prefix, "WINEDEBUG=-all", "WINEARCH=win64")
	return append(env, extra...)
}

// Command returns cmd to run a Windows program under Wine inside the
// namespace, with extra environment variables (e.g. WINEDLLOVERRIDES).
func (w *Wine) Command(ctx context.Context, extraEnv []string, exe string, args ...string) *exec.Cmd {
	cmd := w.host.Command(ctx, append([]string{Wine64, exe}, args...)...)
	cmd.Env = w.env(extraEnv)
	return cmd
}

// Prefix is the directory of the private Wine prefix (drive_c is its C:).
func (w *Wine) Prefix() string { return w.prefix }

// RunTest runs the Windows test binary exe (from BuildTest) under Wine with
// extra environment variables, selecting the tests that match run, and
// fails t unless it exits cleanly, without a panic, with the test must
// passed. It returns the binary's output, which it also logs.
func (w *Wine) RunTest(t testing.TB, env []string, exe, run, must string, timeout time.Duration) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := w.Command(ctx, env, exe, "-test.run", run, "-test.v", "-test.count=1").CombinedOutput()
	t.Logf("under Wine:\n%s", out)
	if err != nil {
		t.Fatalf("Windows test binary under Wine: %v", err)
	}
	if strings.Contains(string(out), "panic") || !strings.Contains(string(out), "--- PASS: "+must) {
		t.Fatalf("%s did not pass under Wine", must)
	}
	return string(out)
}
