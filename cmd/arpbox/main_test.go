package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestCLI(t *testing.T) {
	bad := writeConfig(t, "ring:\n  segment_size: 10 parsecs\n")
	tests := []struct {
		name     string
		args     []string
		code     int
		out, err string
	}{
		{"no args", nil, 2, "", "Usage:"},
		{"help", []string{"-h"}, 0, "Examples:", ""},
		{"unknown", []string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{"version", []string{"version"}, 0, "arpbox ", ""},
		{"default config", []string{"check-config"}, 0, "<embedded default.yaml>: ok", ""},
		{"print default", []string{"check-config", "-print-default"}, 0, "triggers:", ""},
		{"shipped example", []string{"check-config", "-config", "../../configs/gateway.yaml"}, 0, "trigger web1-haproxy: haproxy www/web1", ""},
		{"bad config", []string{"check-config", "-config", bad}, 2, "", "arpbox.yaml:2: ring.segment_size:"},
		{"bad config on run", []string{"run", "-config", bad}, 2, "", "arpbox.yaml:2: ring.segment_size:"},
		{"bad flag", []string{"run", "-bogus"}, 2, "", "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if runtime.GOOS == "windows" && tt.name == "shipped example" {
				t.Skip("skipping on Windows: gateway.yaml is a Linux gateway's config (/var/lib, /run paths)")
			}
			var out, errb bytes.Buffer
			code := dispatch(tt.args, &out, &errb)
			if code != tt.code || !strings.Contains(out.String(), tt.out) || !strings.Contains(errb.String(), tt.err) {
				t.Errorf("arpbox %v = %d\nstdout: %s\nstderr: %s\nwant %d, stdout ∋ %q, stderr ∋ %q", tt.args, code, out.String(), errb.String(), tt.code, tt.out, tt.err)
			}
		})
	}
}

// TestSnapshotsListingEscapes: a bundle's manifest is text from wherever
// the bundle came from; the listing never passes its escape sequences to
// the terminal.
func TestSnapshotsListingEscapes(t *testing.T) {
	dir := t.TempDir()
	b := filepath.Join(dir, "20261130T080000Z-evil")
	if err := os.Mkdir(b, 0o755); err != nil {
		t.Fatal(err)
	}
	manifest := `{"format":1,"id":"20261130T080000Z-evil","trigger":{"name":"evil\u001b[2J\u001b]0;pwned\u0007","time":"2026-11-30T08:00:00Z"}}`
	if err := os.WriteFile(filepath.Join(b, "manifest.json"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := dispatch([]string{"snapshots", "-dir", dir}, &out, &errb); code != 0 {
		t.Fatalf("arpbox snapshots = %d: %s", code, errb.String())
	}
	if strings.ContainsAny(out.String(), "\x1b\x07") || !strings.Contains(out.String(), `evil\x1b[2J`) {
		t.Errorf("listing passes or loses the escape sequences:\n%q", out.String())
	}
}

// TestUsageTexts: the embedded help texts are printed as they are, so a
// checkout that turned their line ends into CRLF would show in every help.
func TestUsageTexts(t *testing.T) {
	for name, text := range map[string]string{"usage.txt": usage, "report-usage.txt": reportUsage} {
		if !strings.Contains(text, "Usage:") || !strings.HasSuffix(text, "\n") || strings.Contains(text, "\r") {
			t.Errorf("%s: want a help text with a Usage: line, ending in LF, no CR:\n%q", name, text)
		}
	}
}
