package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arpbox/arpbox/internal/nstest"
)

// TestInstallScript runs scripts/install.sh into a scratch root (--root)
// twice, then scripts/uninstall.sh: the first run installs the binary, the
// user, a config that check-config accepts and the unit; the second
// changes nothing and keeps an edited config; uninstall keeps recorded
// data unless --purge.
func TestInstallScript(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: install.sh creates users and sets owners, so it needs root")
	}
	nstest.RequireTool(t, "useradd")
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	// useradd --root needs the user databases and login.defs of a system.
	for _, f := range []string{"passwd", "group", "shadow", "gshadow", "login.defs"} {
		b, err := os.ReadFile(filepath.Join("/etc", f))
		if err != nil {
			t.Skipf("skipping: /etc/%s: %v", f, err)
		}
		if strings.Contains(string(b), "\narpbox:") || strings.HasPrefix(string(b), "arpbox:") {
			t.Skipf("skipping: this machine already has an arpbox user or group")
		}
		if err := os.WriteFile(filepath.Join(root, "etc", f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	install := func() string {
		t.Helper()
		out, err := exec.Command(filepath.Join("..", "..", "scripts", "install.sh"), "-b", binPath, "--root", root).CombinedOutput()
		if err != nil {
			t.Fatalf("install.sh: %v\n%s", err, out)
		}
		return string(out)
	}
	first := install()
	for _, want := range []string{"user arpbox: created", "config: " + root + "/etc/arpbox/arpbox.yaml written", "unit: " + root + "/etc/systemd/system/arpbox.service installed", "systemctl status arpbox"} {
		if !strings.Contains(first, want) {
			t.Errorf("first install.sh run does not say %q:\n%s", want, first)
		}
	}
	conf := filepath.Join(root, "etc", "arpbox", "arpbox.yaml")
	st, err := os.Stat(conf)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o640 || fileUID(st) != 0 {
		t.Errorf("config mode %v uid %d, want 0640 owned by root", st.Mode().Perm(), fileUID(st))
	}
	if out, err := exec.Command(binPath, "check-config", "-config", conf).CombinedOutput(); err != nil {
		t.Errorf("the installed config does not check: %v\n%s", err, out)
	}
	unit, _ := os.ReadFile(filepath.Join(root, "etc", "systemd", "system", "arpbox.service"))
	shipped, _ := os.ReadFile(filepath.Join("..", "..", "scripts", "systemd", "arpbox.service"))
	if len(unit) == 0 || string(unit) != string(shipped) {
		t.Error("the installed unit is not scripts/systemd/arpbox.service")
	}
	if st, err := os.Stat(filepath.Join(root, "usr", "local", "bin", "arpbox")); err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("binary: %v", err)
	}

	edited := "# mine\n" + readText(t, conf)
	if err := os.WriteFile(conf, []byte(edited), 0o640); err != nil {
		t.Fatal(err)
	}
	second := install()
	if strings.Contains(second, "created") || !strings.Contains(second, "kept as it is") || !strings.Contains(second, "unchanged") {
		t.Errorf("second install.sh run was not idempotent:\n%s", second)
	}
	if got := readText(t, conf); got != edited {
		t.Error("the second run overwrote the edited config")
	}
	if n := strings.Count(readText(t, filepath.Join(root, "etc", "passwd")), "\narpbox:"); n != 1 {
		t.Errorf("%d arpbox users after two runs, want 1", n)
	}

	data := filepath.Join(root, "var", "lib", "arpbox", "snapshots", "bundle")
	if err := os.MkdirAll(data, 0o750); err != nil {
		t.Fatal(err)
	}
	uninstall := filepath.Join("..", "..", "scripts", "uninstall.sh")
	if out, err := exec.Command(uninstall, "--root", root).CombinedOutput(); err != nil {
		t.Fatalf("uninstall.sh: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(root, "usr", "local", "bin", "arpbox")); !os.IsNotExist(err) {
		t.Error("uninstall.sh left the binary")
	}
	for _, keep := range []string{data, conf} {
		if _, err := os.Stat(keep); err != nil {
			t.Errorf("uninstall.sh without --purge removed %s", keep)
		}
	}
	if out, err := exec.Command(uninstall, "--purge", "--root", root).CombinedOutput(); err != nil {
		t.Fatalf("uninstall.sh --purge: %v\n%s", err, out)
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Error("uninstall.sh --purge kept the recorded data")
	}
	if strings.Contains(readText(t, filepath.Join(root, "etc", "passwd")), "\narpbox:") {
		t.Error("uninstall.sh --purge kept the arpbox user")
	}
}

func readText(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
