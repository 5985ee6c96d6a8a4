package configs

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestAlertmanagerExample checks alertmanager.yml with amtool, and that
// amtool would notice a broken copy (so the check can fail).
func TestAlertmanagerExample(t *testing.T) {
	amtool, err := exec.LookPath("amtool")
	if err != nil {
		t.Skip("skipping: amtool not installed (Debian package prometheus-alertmanager)")
	}
	b, err := os.ReadFile("alertmanager.yml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "/api/v1/alertmanager") {
		t.Error("alertmanager.yml does not post to arpbox's /api/v1/alertmanager")
	}
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "alertmanager.yml"), filepath.Join(dir, "broken.yml")
	if err := os.WriteFile(good, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte(strings.Replace(string(b), "receiver: arpbox", "receiver: nobody", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(amtool, "check-config", good).CombinedOutput(); err != nil {
		t.Errorf("amtool check-config alertmanager.yml: %v\n%s", err, out)
	}
	if out, err := exec.Command(amtool, "check-config", bad).CombinedOutput(); err == nil {
		t.Errorf("amtool accepted a route to an undefined receiver:\n%s", out)
	}
}
