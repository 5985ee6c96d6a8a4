package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// maxExposure is the highest `systemd-analyze security` exposure the unit
// may have (0 = locked down, 10 = unprotected); the README quotes it.
const maxExposure = 2.5

// TestSystemdUnit checks scripts/systemd/arpbox.service with systemd's own
// tools: `systemd-analyze verify` (syntax, directives, ExecStart) and
// `systemd-analyze security` (the exposure score stays low).
func TestSystemdUnit(t *testing.T) {
	tool := "systemd-analyze"
	if _, err := exec.LookPath(tool); err != nil {
		t.Skipf("skipping: %s not found on PATH (Debian: apt-get install systemd)", tool)
	}
	src, err := os.ReadFile(filepath.Join("..", "..", "scripts", "systemd", "arpbox.service"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), "ExecStart=/usr/local/bin/arpbox run") {
		t.Fatal("the unit does not start /usr/local/bin/arpbox run (scripts/install.sh installs it there)")
	}
	// verify checks that ExecStart's binary exists: point it at the one
	// this test built.
	unit := filepath.Join(t.TempDir(), "arpbox.service")
	text := strings.ReplaceAll(string(src), "/usr/local/bin/arpbox", binPath)
	if err := os.WriteFile(unit, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, "verify", unit).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err = exec.Command(tool, "security", "--offline=true", "--no-pager", unit).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze security printed no exposure level:\n%s", out)
	}
	score, _ := strconv.ParseFloat(string(m[1]), 64)
	t.Logf("systemd-analyze security: exposure %.1f", score)
	if score > maxExposure {
		t.Errorf("exposure %.1f is above %.1f:\n%s", score, maxExposure, out)
	}
}
