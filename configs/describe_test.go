package configs

import (
	"bytes"
	"strings"
	"testing"
)

// TestDescribe: check-config says what a file means, the HTTP API included.
func TestDescribe(t *testing.T) {
	unixPaths(t)
	cfg, err := Parse("t.yaml", []byte(`capture:
  interfaces: [eth1]
ring:
  dir: /data/ring
  max_size: 2GiB
control:
  listen: 0.0.0.0:9310
  token_file: /etc/arpbox/api.token
triggers:
  - name: web1
    check: tcp
    target: 10.0.0.5:80
`))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := cfg.Describe(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"capture: [eth1], filter",
		"ring: /data/ring, segments of 10 MiB or 5m0s, at most 2 GiB",
		"http api: http://0.0.0.0:9310, bearer token from /etc/arpbox/api.token",
		"trigger web1: tcp 10.0.0.5:80 every",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("Describe lacks %q:\n%s", want, b.String())
		}
	}
}
