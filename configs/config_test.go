package configs

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestShippedFilesParse(t *testing.T) {
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no shipped configs found: %v", err)
	}
	if diff := cmp.Diff(files, Shipped()); diff != "" {
		t.Errorf("embedded files differ from configs/*.yaml (-dir +embedded):\n%s", diff)
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			skipLinuxOnly(t, f)
			if _, err := Load(f); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestEmbeddedDefault(t *testing.T) {
	c, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if c.Source != DefaultName {
		t.Errorf("Source = %q", c.Source)
	}
	if !c.NeedsDefaultRoute() {
		t.Error("the default config should capture on the default route's interface")
	}
	if got, want := c.Ring.Dir, filepath.Join(DefaultDataDir(), "ring"); got != want {
		t.Errorf("ring dir = %q, want %q", got, want)
	}
	if c.Ring.MaxBytes != 256<<20 || c.Ring.SegmentBytes != 8<<20 || c.Ring.SegmentAge != 5*time.Minute || c.Ring.MinFreePercent != 5 {
		t.Errorf("ring = %+v", c.Ring)
	}
	var checks []string
	for _, tr := range c.Triggers {
		checks = append(checks, tr.Check+" "+tr.Target)
	}
	if diff := cmp.Diff([]string{"neighbor gateway", "arp gateway"}, checks); diff != "" {
		t.Errorf("default triggers (-want +got):\n%s", diff)
	}
	if dropped := c.ResolveGateway("eth0", "192.168.1.1"); len(dropped) != 0 {
		t.Errorf("dropped %v with a gateway at hand", dropped)
	}
	if c.Capture.Interfaces[0] != "eth0" || c.Triggers[0].Target != "192.168.1.1" || c.Triggers[1].Interface != "eth0" {
		t.Errorf("after ResolveGateway: interfaces %v, triggers %+v", c.Capture.Interfaces, c.Triggers)
	}
}

func TestDefaultWithoutGateway(t *testing.T) {
	c, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	dropped := c.ResolveGateway("ppp0", "")
	if len(dropped) != 2 || len(c.Triggers) != 0 || c.Capture.Interfaces[0] != "ppp0" {
		t.Errorf("device-only default route: dropped %v, triggers %+v, interfaces %v", dropped, c.Triggers, c.Capture.Interfaces)
	}
}

// unixPaths skips a test whose configuration names Unix absolute paths
// (/etc/…), which are relative on Windows and refused there: the parsing
// it checks is the same on every platform.
func unixPaths(t *testing.T) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("skipping on Windows: the test's configuration uses Unix absolute paths")
	}
}

// skipLinuxOnly skips a shipped config written for Linux hosts (Unix
// paths, which are not absolute on Windows) when the test runs on Windows.
func skipLinuxOnly(t *testing.T, file string) {
	t.Helper()
	if runtime.GOOS == "windows" && file == "gateway.yaml" {
		t.Skipf("skipping on Windows: %s is a Linux gateway's config (/var/lib, /run paths)", file)
	}
}

func TestGatewayExample(t *testing.T) {
	skipLinuxOnly(t, "gateway.yaml")
	c, err := Load("gateway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.NeedsDefaultRoute() {
		t.Error("gateway.yaml names its interface and targets; it should not need the default route")
	}
	if c.Ring.MaxBytes != 1<<30 || c.Ring.SegmentBytes != 10<<20 || c.Snapshots.Before != 10*time.Minute || c.Snapshots.After != time.Minute {
		t.Errorf("ring %+v, snapshots %+v", c.Ring, c.Snapshots)
	}
	if c.Capture.Filter.Name != "arp" {
		t.Errorf("filter = %+v", c.Capture.Filter)
	}
}

// TestWindowsHostExample: the Windows server's config (the other side of
// the story) captures on the default route's interface, watches the
// gateway, and puts everything under the default data directory
// (%ProgramData%\arpbox on Windows).
func TestWindowsHostExample(t *testing.T) {
	c, err := Load("windows-host.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !c.NeedsDefaultRoute() {
		t.Error("windows-host.yaml should capture on the default route's interface")
	}
	if got, want := c.Ring.Dir, filepath.Join(DefaultDataDir(), "ring"); got != want {
		t.Errorf("ring dir = %q, want %q", got, want)
	}
	if dropped := c.ResolveGateway("Ethernet 2", "10.0.0.1"); len(dropped) != 0 {
		t.Errorf("dropped %v with a gateway at hand", dropped)
	}
	var checks []string
	for _, tr := range c.Triggers {
		checks = append(checks, tr.Check+" "+tr.Target)
	}
	if diff := cmp.Diff([]string{"neighbor 10.0.0.1", "arp 10.0.0.1"}, checks); diff != "" {
		t.Errorf("triggers (-want +got):\n%s", diff)
	}
	if c.Capture.Interfaces[0] != "Ethernet 2" || c.Capture.Filter.Name != "arp" || c.Ring.MaxBytes != 1<<30 {
		t.Errorf("capture = %+v, ring = %+v", c.Capture, c.Ring)
	}
}

// TestErrorsNameFileLineAndField: every mistake says where it is.
func TestErrorsNameFileLineAndField(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // substrings of the error, in order
	}{
		{"unknown top key", "capture:\n  filter: arp\nrng:\n  dir: /x\n", []string{"bad.yaml:3: rng: unknown key"}},
		{"unknown ring key", "ring:\n  dir: /x\n  segment_sizee: 10MiB\n", []string{"bad.yaml:3: ring.segment_sizee: unknown key"}},
		{"unknown trigger key", "triggers:\n  - name: a\n    check: tcp\n    target: 10.0.0.5:80\n    retries: 3\n", []string{"bad.yaml:5: triggers[].retries: unknown key"}},
		{"bad size", "ring:\n  segment_size: ten megs\n", []string{"bad.yaml:2: ring.segment_size:", "not a size"}},
		{"bad duration", "ring:\n  segment_duration: 5 minutes\n", []string{"bad.yaml:2: ring.segment_duration:", "not a duration"}},
		{"negative duration", "snapshots:\n  before: -10m\n", []string{"bad.yaml:2: snapshots.before:", "negative"}},
		{"bad percentage", "ring:\n  min_free: 120%\n", []string{"bad.yaml:2: ring.min_free:", "percentage"}},
		{"syntax", "ring:\n  dir: [\n", []string{"bad.yaml:"}},
		{"wrong type", "capture:\n  snaplen: lots\n", []string{"bad.yaml:2:", "lots"}},
		// Linux allows 15 bytes, Windows (friendly names, \Device\NPF_{GUID}) 512.
		{"long interface name", "capture:\n  interfaces: [eth0, " + strings.Repeat("enp0s31f6-backend-vlan42", 30) + "]\n", []string{"bad.yaml:2: capture.interfaces[1]:", "bytes"}},
		{"small buffer", "capture:\n  buffer_size: 100KiB\n", []string{"bad.yaml:2: capture.buffer_size:"}},
		{"min_free over the ring's limit", "ring:\n  min_free: 95%\n", []string{"bad.yaml:2: ring.min_free:", "90%"}},
		{"bad filter", "capture:\n  filter: tcp port 80\n", []string{"bad.yaml:2: capture.filter:"}},
		{"unknown check", "triggers:\n  - name: a\n    check: smtp\n    target: x:25\n", []string{"bad.yaml:3: triggers[0].check:"}},
		{"bad target", "triggers:\n  - name: a\n    check: tcp\n    target: 10.0.0.5\n", []string{"bad.yaml:4: triggers[0].target:"}},
		{"negative interval", "triggers:\n  - name: a\n    check: tcp\n    target: 10.0.0.5:80\n    interval: -2s\n", []string{"bad.yaml:5: triggers[0].interval:", "negative"}},
		{"duplicate trigger", "triggers:\n  - name: a\n    check: tcp\n    target: h:80\n  - name: a\n    check: tcp\n    target: h:81\n", []string{"bad.yaml:5: triggers[1].name:", "also the name of triggers[0]"}},
		{"relative data dir", "data_dir: var/arpbox\n", []string{"bad.yaml:1: data_dir:", "absolute"}},
		{"log format", "log:\n  format: xml\n", []string{"bad.yaml:2: log.format:"}},
		{"listen beyond loopback without a token", "control:\n  listen: 0.0.0.0:9310\n", []string{"bad.yaml:2: control.listen:", "token_file"}},
		{"listen on every address without a token", "control:\n  listen: :9310\n", []string{"bad.yaml:2: control.listen:", "token_file"}},
		{"listen without a port", "control:\n  listen: 127.0.0.1\n", []string{"bad.yaml:2: control.listen:", "host:port"}},
		{"listen on a bad port", "control:\n  listen: 127.0.0.1:99999\n", []string{"bad.yaml:2: control.listen:", "65535"}},
		{"cert without key", "control:\n  listen: 127.0.0.1:9310\n  tls_cert: /etc/arpbox/cert.pem\n", []string{"bad.yaml:3: control.tls_cert:", "needs control.tls_key"}},
		{"key without cert", "control:\n  listen: 127.0.0.1:9310\n  tls_key: /etc/arpbox/key.pem\n", []string{"bad.yaml:3: control.tls_key:", "needs control.tls_cert"}},
		{"token without listen", "control:\n  token_file: /etc/arpbox/token\n", []string{"bad.yaml:2: control.token_file:", "without control.listen"}},
		{"unknown control key", "control:\n  listen: 127.0.0.1:9310\n  tokenfile: /x\n", []string{"bad.yaml:3: control.tokenfile: unknown key"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("bad.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			at := 0
			for _, w := range tt.want {
				i := strings.Index(msg[at:], w)
				if i < 0 {
					t.Fatalf("error %q lacks %q", msg, w)
				}
				at += i + len(w)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Errorf("error %T is not a *configs.Error", err)
			}
		})
	}
}

func TestAllErrorsReportedAtOnce(t *testing.T) {
	_, err := Parse("bad.yaml", []byte("ring:\n  segment_size: x\n  max_size: y\n"))
	if err == nil || !strings.Contains(err.Error(), ":2: ring.segment_size") || !strings.Contains(err.Error(), ":3: ring.max_size") {
		t.Fatalf("want both errors, got %v", err)
	}
}

func TestControlListen(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want Control
	}{
		{"off by default", "", Control{}},
		{"loopback needs no token", "control:\n  listen: 127.0.0.1:9310\n", Control{Listen: "127.0.0.1:9310"}},
		{"localhost needs no token", "control:\n  listen: localhost:9310\n", Control{Listen: "localhost:9310"}},
		{"IPv6 loopback needs no token", "control:\n  listen: '[::1]:9310'\n", Control{Listen: "[::1]:9310"}},
		{"every address with a token and TLS", "control:\n  listen: '[::]:9310'\n  token_file: /etc/arpbox/token\n  tls_cert: /etc/arpbox/c.pem\n  tls_key: /etc/arpbox/k.pem\n",
			Control{Listen: "[::]:9310", TokenFile: "/etc/arpbox/token", TLSCert: "/etc/arpbox/c.pem", TLSKey: "/etc/arpbox/k.pem"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.want.TokenFile != "" {
				unixPaths(t)
			}
			c, err := Parse("x.yaml", []byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			got := c.Control
			got.Socket = "" // the platform's default
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("control (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadToken(t *testing.T) {
	dir := t.TempDir()
	const secret = "s3cr3t-t0ken-value"
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		path    string
		want    string
		wantErr []string // substrings of the error
	}{
		{"trimmed", write("ok", "  "+secret+"\n"), secret, nil},
		{"missing", filepath.Join(dir, "none"), "", []string{"control.token_file", filepath.Join(dir, "none")}},
		{"empty", write("empty", " \n\t\n"), "", []string{filepath.Join(dir, "empty"), "empty token"}},
		{"two lines", write("two", secret+"\n"+secret+"\n"), "", []string{filepath.Join(dir, "two"), "one line"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadToken(tt.path)
			if got != tt.want {
				t.Errorf("token = %q, want %q", got, tt.want)
			}
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q shows the token", err)
			}
		})
	}
}

func TestExecTargetArgv(t *testing.T) {
	c, err := Parse("x.yaml", []byte("triggers:\n  - name: probe\n    check: exec\n    target: [/usr/lib/nagios/check_http, -H, 10.0.0.5]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"/usr/lib/nagios/check_http", "-H", "10.0.0.5"}, c.Triggers[0].Command); diff != "" {
		t.Errorf("argv (-want +got):\n%s", diff)
	}
}

func TestMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want ErrNotExist", err)
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		bad  bool
	}{
		{"4096", 4096, false}, {"512KiB", 512 << 10, false}, {"10MiB", 10 << 20, false},
		{"1GiB", 1 << 30, false}, {"10MB", 10e6, false}, {" 2 GiB ", 2 << 30, false},
		{"", 0, true}, {"MiB", 0, true}, {"-1MiB", 0, true}, {"1.5GiB", 0, true}, {"10 parsecs", 0, true},
		{"99999999999TiB", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, bad=%v", tt.in, got, err, tt.want, tt.bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(Default()))
	f.Add([]byte("ring:\n  dir: [\n"))
	f.Add([]byte("triggers:\n  - name: a\n    target: [1, [2]]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse("fuzz.yaml", b)
		if err == nil && c == nil {
			t.Fatal("nil config without error")
		}
	})
}
