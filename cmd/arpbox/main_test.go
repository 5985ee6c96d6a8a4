package main

import (
	"bytes"
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
