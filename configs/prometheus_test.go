package configs

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPrometheusExamples checks prometheus.yml and alerts.yml with
// promtool, from a copy whose token file exists (promtool checks that), and
// runs alerts_test.yml: each alert fires when it should and not before.
func TestPrometheusExamples(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("skipping: promtool not installed (Debian package prometheus)")
	}
	dir := t.TempDir()
	token := filepath.Join(dir, "arpbox.token")
	if err := os.WriteFile(token, []byte("example-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"prometheus.yml", "alerts.yml", "alerts_test.yml"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		if f == "prometheus.yml" {
			const shipped = "/etc/prometheus/arpbox.token"
			if !strings.Contains(s, shipped) {
				t.Fatalf("prometheus.yml no longer reads the token from %s", shipped)
			}
			s = strings.ReplaceAll(s, shipped, token)
		}
		if err := os.WriteFile(filepath.Join(dir, f), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"check", "config", "prometheus.yml"}, {"check", "rules", "alerts.yml"}, {"test", "rules", "alerts_test.yml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
