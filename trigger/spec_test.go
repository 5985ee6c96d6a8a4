package trigger

import (
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestWithDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   Spec
		want Spec
	}{
		{"empty", Spec{Check: "tcp"}, Spec{Check: "tcp", Interval: 2 * time.Second, Timeout: time.Second, FailAfter: 3, RecoverAfter: 2}},
		{"short interval", Spec{Check: "tcp", Interval: time.Second}, Spec{Check: "tcp", Interval: time.Second, Timeout: 500 * time.Millisecond, FailAfter: 3, RecoverAfter: 2}},
		{"set values kept", Spec{Check: "tcp", Interval: 5 * time.Second, Timeout: 3 * time.Second, FailAfter: 1, RecoverAfter: 4}, Spec{Check: "tcp", Interval: 5 * time.Second, Timeout: 3 * time.Second, FailAfter: 1, RecoverAfter: 4}},
		{"negative kept", Spec{Check: "tcp", Interval: -time.Second}, Spec{Check: "tcp", Interval: -time.Second, Timeout: time.Second, FailAfter: 3, RecoverAfter: 2}},
		{"haproxy socket", Spec{Check: "haproxy"}, Spec{Check: "haproxy", Socket: "/run/haproxy/admin.sock", Interval: 2 * time.Second, Timeout: time.Second, FailAfter: 3, RecoverAfter: 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.in.WithDefaults()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	ok := func(check, target string) Spec {
		return Spec{Name: "t", Check: check, Target: target}.WithDefaults()
	}
	with := func(s Spec, f func(*Spec)) Spec { f(&s); return s }
	tests := []struct {
		name string
		spec Spec
		want string // "" = valid
	}{
		{"tcp", ok("tcp", "10.0.0.5:80"), ""},
		{"tcp name", ok("tcp", "web1.example.net:443"), ""},
		{"tcp v6", ok("tcp", "[fe80::1%eth0]:22"), ""},
		{"tcp no port", ok("tcp", "10.0.0.5"), `target: "10.0.0.5" needs host:port for check tcp`},
		{"tcp bad port", ok("tcp", "10.0.0.5:http"), `target: "10.0.0.5:http": port "http" must be 1-65535`},
		{"tcp port 0", ok("tcp", "10.0.0.5:0"), `target: "10.0.0.5:0": port "0" must be 1-65535`},
		{"tcp bad host", ok("tcp", "a b:80"), `target: "a b:80": "a b" is not a host name or IP address`},
		{"icmp", ok("icmp", "10.0.0.5"), ""},
		{"icmp name", ok("icmp", "gw.lan"), ""},
		{"icmp v6", ok("icmp", "2001:db8::1"), ""},
		{"icmp port", ok("icmp", "10.0.0.5:80"), `target: "10.0.0.5:80" needs a host name or IP address for check icmp (no port)`},
		{"http", ok("http", "http://10.0.0.5/health"), ""},
		{"https", ok("http", "https://web1:8443/"), ""},
		{"http scheme", ok("http", "ftp://10.0.0.5/"), `target: "ftp://10.0.0.5/" needs an http:// or https:// URL for check http`},
		{"http bare", ok("http", "10.0.0.5"), `target: "10.0.0.5" needs an http:// or https:// URL for check http`},
		{"http no host", ok("http", "http:///x"), `target: "http:///x" has no host`},
		{"http expect", with(ok("http", "http://x/"), func(s *Spec) { s.Expect = []int{200, 204} }), ""},
		{"http expect bad", with(ok("http", "http://x/"), func(s *Spec) { s.Expect = []int{200, 700} }), `expect: 700 is not an HTTP status code (100-599)`},
		{"expect on tcp", with(ok("tcp", "x:1"), func(s *Spec) { s.Expect = []int{200} }), `expect: only used by check http, not tcp`},
		{"arp", ok("arp", "10.0.0.1"), ""},
		{"arp iface", with(ok("arp", "10.0.0.1"), func(s *Spec) { s.Interface = "eth0" }), ""},
		{"arp v6", ok("arp", "fe80::1"), `target: "fe80::1" needs an IPv4 address for check arp`},
		{"arp name", ok("arp", "gw"), `target: "gw" needs an IPv4 address for check arp`},
		{"arp broadcast", ok("arp", "255.255.255.255"), `target: "255.255.255.255" is not a unicast address`},
		{"arp bad iface", with(ok("arp", "10.0.0.1"), func(s *Spec) { s.Interface = "eth0/1" }), `interface: "eth0/1" is not an interface name`},
		{"iface on tcp", with(ok("tcp", "x:1"), func(s *Spec) { s.Interface = "eth0" }), `interface: only used by checks arp and neighbor, not tcp`},
		{"neighbor", ok("neighbor", "10.0.0.1"), ""},
		{"neighbor list", ok("neighbor", "10.0.0.1, 10.0.0.5,fe80::1"), ""},
		{"neighbor bad", ok("neighbor", "10.0.0.1,x"), `target: "10.0.0.1,x" needs an IP address or a comma-separated list of them for check neighbor (bad "x")`},
		{"neighbor dup", ok("neighbor", "10.0.0.1,10.0.0.1"), `target: "10.0.0.1,10.0.0.1" lists 10.0.0.1 twice`},
		{"haproxy", ok("haproxy", "www/web1"), ""},
		{"haproxy bad", ok("haproxy", "web1"), `target: "web1" needs backend/server for check haproxy, e.g. www/web1`},
		{"haproxy relative socket", with(ok("haproxy", "www/web1"), func(s *Spec) { s.Socket = "admin.sock" }), `socket: "admin.sock" must be an absolute path`},
		{"socket on tcp", with(ok("tcp", "x:1"), func(s *Spec) { s.Socket = "/x" }), `socket: only used by check haproxy, not tcp`},
		{"exec", with(ok("exec", ""), func(s *Spec) { s.Command = []string{"/bin/true"} }), ""},
		{"exec no command", ok("exec", ""), `target: check exec needs an argv list (run without a shell), e.g. target: [/usr/bin/curl, -f, http://x/]`},
		{"exec target", with(ok("exec", "/bin/true"), func(s *Spec) { s.Command = []string{"/bin/true"} }), `target: check exec needs an argv list (run without a shell), e.g. target: [/usr/bin/curl, -f, http://x/]`},
		{"command on tcp", with(ok("tcp", "x:1"), func(s *Spec) { s.Command = []string{"x"} }), `target: an argv list is only for check exec; check tcp takes a string`},
		{"no name", with(ok("tcp", "x:1"), func(s *Spec) { s.Name = "" }), `name: must not be empty`},
		{"unknown check", ok("ping", "10.0.0.1"), `check: unknown check "ping" (want one of icmp, tcp, http, arp, neighbor, haproxy, exec, arp-unanswered, arp-conflict)`},
		{"no target", ok("tcp", ""), `target: must not be empty for check tcp`},
		{"negative interval", with(ok("tcp", "x:1"), func(s *Spec) { s.Interval = -time.Second }), `interval: must not be negative, got -1s`},
		{"zero interval", with(ok("tcp", "x:1"), func(s *Spec) { s.Interval = 0 }), `interval: must be positive, got 0s`},
		{"exec empty program", with(ok("exec", ""), func(s *Spec) { s.Command = []string{""} }), `target: check exec: the program (first argv element) must not be empty`},
		{"negative timeout", with(ok("tcp", "x:1"), func(s *Spec) { s.Timeout = -time.Second }), `timeout: must not be negative, got -1s`},
		{"timeout >= interval", with(ok("tcp", "x:1"), func(s *Spec) { s.Timeout = 2 * time.Second }), `timeout: 2s must be shorter than interval 2s`},
		{"fail_after", with(ok("tcp", "x:1"), func(s *Spec) { s.FailAfter = -1 }), `fail_after: must be at least 1, got -1`},
		{"recover_after", with(ok("tcp", "x:1"), func(s *Spec) { s.RecoverAfter = -2 }), `recover_after: must be at least 1, got -2`},
		{"cooldown", with(ok("tcp", "x:1"), func(s *Spec) { s.Cooldown = -time.Minute }), `cooldown: must not be negative, got -1m0s`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if runtime.GOOS == "windows" && (tc.name == "haproxy" || tc.name == "haproxy bad") {
				t.Skip("skipping on Windows: the haproxy check's default socket /run/haproxy/admin.sock is not an absolute path there")
			}
			err := tc.spec.Validate()
			got := ""
			if err != nil {
				got = err.Error()
				var fe *FieldError
				if !errors.As(err, &fe) {
					t.Errorf("error %T is not a *FieldError", err)
				}
			}
			if got != tc.want {
				t.Errorf("Validate() = %q\n want %q", got, tc.want)
			}
		})
	}
}

func TestDisplayTarget(t *testing.T) {
	s := Spec{Check: CheckExec, Command: []string{"/usr/bin/curl", "-f", "http://x/a b", ""}}
	if got, want := s.DisplayTarget(), `/usr/bin/curl -f "http://x/a b" ""`; got != want {
		t.Errorf("DisplayTarget() = %q, want %q", got, want)
	}
}
