package configs

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/arpbox/arpbox/peer"
	"github.com/arpbox/arpbox/trigger"
)

func TestFleetSections(t *testing.T) {
	unixPaths(t)
	c, err := Parse("fleet.yaml", []byte(`capture:
  interfaces: [eth0]
control:
  listen: "0.0.0.0:9310"
  token_file: /etc/arpbox/token
peers:
  - name: server
    url: https://10.0.0.5:9310
    token_file: /etc/arpbox/server.token
    ca_file: /etc/arpbox/server-ca.pem
  - name: backup
    url: http://10.0.0.6:9310/
    token_file: /etc/arpbox/backup.token
    retry_for: 2h
alertmanager:
  match:
    job: haproxy
    instance: "=~gw1:.*"
`))
	if err != nil {
		t.Fatal(err)
	}
	want := Fleet{
		Peers: []peer.Config{
			{Name: "server", URL: "https://10.0.0.5:9310", TokenFile: "/etc/arpbox/server.token", CAFile: "/etc/arpbox/server-ca.pem", RetryFor: peer.DefaultRetryFor},
			{Name: "backup", URL: "http://10.0.0.6:9310/", TokenFile: "/etc/arpbox/backup.token", RetryFor: 2 * time.Hour},
		},
		Alertmanager: &trigger.AlertmanagerConfig{Match: map[string]string{"job": "haproxy", "instance": "=~gw1:.*"}},
	}
	if d := cmp.Diff(want, c.Fleet); d != "" {
		t.Errorf("fleet (-want +got):\n%s", d)
	}
	var b strings.Builder
	if err := c.Describe(&b); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"peer server: https://10.0.0.5:9310, token from /etc/arpbox/server.token, CA /etc/arpbox/server-ca.pem; retried up to 30m0s after T\n",
		"peer backup: http://10.0.0.6:9310/, token from /etc/arpbox/backup.token; retried up to 2h0m0s after T\n",
		`alertmanager: POST /api/v1/alertmanager, firing alerts matching {instance=~"gw1:.*", job="haproxy"} trigger` + "\n",
	} {
		if !strings.Contains(b.String(), line) {
			t.Errorf("check-config lacks %q:\n%s", line, b.String())
		}
	}
}

func TestFleetErrors(t *testing.T) {
	const head = "capture:\n  interfaces: [eth0]\n"
	for _, tc := range []struct {
		name, body string
		want       []string
	}{
		{"peer without url and token", "peers:\n  - name: a\n", []string{"fleet.yaml:4: peers[0].url: must not be empty", "fleet.yaml:4: peers[0].token_file: must be set"}},
		{"peer url with a path", "peers:\n  - name: a\n    url: http://h:1/v1\n    token_file: /t\n", []string{"fleet.yaml:5: peers[0].url: \"http://h:1/v1\": want only scheme, host and port"}},
		{"ca_file over http", "peers:\n  - name: a\n    url: http://h:1\n    token_file: /t\n    ca_file: /ca\n", []string{"fleet.yaml:7: peers[0].ca_file: has no effect without an https:// url"}},
		{"duplicate peer names", "peers:\n  - {name: a, url: 'http://h:1', token_file: /t}\n  - {name: a, url: 'http://g:1', token_file: /t}\n", []string{"fleet.yaml:5: peers[1].name: \"a\" is also the name of peers[0]"}},
		{"bad retry_for", "peers:\n  - {name: a, url: 'http://h:1', token_file: /t, retry_for: soon}\n", []string{"peers[0].retry_for"}},
		{"unknown peer key", "peers:\n  - {name: a, url: 'http://h:1', token_file: /t, tokn: x}\n", []string{"fleet.yaml:4: peers[].tokn: unknown key"}},
		{"alertmanager without listener", "alertmanager:\n  match: {job: haproxy}\n", []string{"fleet.yaml:3: alertmanager: has no effect without control.listen"}},
		{"bad regex", "control:\n  listen: 127.0.0.1:9310\nalertmanager:\n  match: {job: '=~(x'}\n", []string{"alertmanager.match.job"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("fleet.yaml", []byte(head+tc.body))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
		})
	}
}
