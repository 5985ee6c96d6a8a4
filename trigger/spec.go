package trigger

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Check types accepted in Spec.Check.
const (
	CheckICMP     = "icmp"
	CheckTCP      = "tcp"
	CheckHTTP     = "http"
	CheckARP      = "arp"
	CheckNeighbor = "neighbor"
	CheckHAProxy  = "haproxy"
	CheckExec     = "exec"
	// The stream checks read the frames arpbox records (see stream.go).
	CheckARPUnanswered = "arp-unanswered"
	CheckARPConflict   = "arp-conflict"
)

// Checks lists the check types in the order they are documented.
func Checks() []string {
	return []string{CheckICMP, CheckTCP, CheckHTTP, CheckARP, CheckNeighbor, CheckHAProxy, CheckExec, CheckARPUnanswered, CheckARPConflict}
}

// Defaults filled in by WithDefaults.
const (
	DefaultInterval      = 2 * time.Second
	DefaultTimeout       = 1 * time.Second
	DefaultFailAfter     = 3
	DefaultRecoverAfter  = 2
	DefaultHAProxySocket = "/run/haproxy/admin.sock" // Debian's stats socket
	DefaultWindow        = 30 * time.Second          // arp-unanswered, arp-conflict
	DefaultUnanswered    = 3                         // arp-unanswered threshold
)

// Spec configures one health-check trigger (YAML: one item of triggers[]).
//
// Target per check:
//
//	icmp      host name or IP address (IPv4 or IPv6)     10.0.0.5
//	tcp       host:port                                  10.0.0.5:80, [fe80::1%eth0]:22
//	http      http:// or https:// URL                    http://10.0.0.5/health
//	arp       IPv4 address; Interface optional (default: the interface the route to it uses)
//	neighbor  IP address, or a comma-separated list      10.0.0.1,10.0.0.5
//	haproxy   backend/server; the stats socket is Socket  www/web1
//	exec      an argv list, run without a shell: YAML target: [/usr/local/bin/probe, -q]
//	          (the config loader puts the list in Command; Target stays empty)
//	arp-unanswered  IP address: fails while Threshold requests for it went
//	                unanswered within Window, in the frames arpbox records
//	arp-conflict    IP address, or "gateway": fails while Threshold flip-flops,
//	                duplicate answers, answered probes or unsolicited replies
//	                claiming it for another MAC were seen within Window
type Spec struct {
	Name, Check, Target string
	Interface           string // arp, neighbor (YAML interface); optional
	Interval, Timeout   time.Duration
	FailAfter           int   // YAML fail_after: consecutive failures that fire
	RecoverAfter        int   // YAML recover_after: consecutive successes that re-arm
	Expect              []int // http: acceptable status codes; empty = 200-399
	// Cooldown (YAML cooldown) is the least time between two events of this
	// trigger; an outage that starts sooner is logged and counted but does not
	// fire. Zero: no cooldown.
	Cooldown time.Duration
	// Command is the argv of an exec check, run without a shell. In YAML it
	// is the target, written as a list.
	Command []string
	// Socket (YAML socket) is the HAProxy stats socket of a haproxy check
	// (default /run/haproxy/admin.sock).
	Socket string
	// Threshold (YAML threshold) is how many unanswered requests
	// (arp-unanswered, default 3) or conflicts (arp-conflict, default 1)
	// within Window make a failure.
	Threshold int
	// Window (YAML window) is how far back the stream checks look; default 30s.
	Window time.Duration
}

// FieldError is a Validate error naming the YAML key it is about.
// Error() is "key: message".
type FieldError struct {
	Key string // YAML key inside the trigger item: "target", "interval", ...
	Msg string
}

func (e *FieldError) Error() string { return e.Key + ": " + e.Msg }

func fieldErr(key, format string, args ...any) error {
	return &FieldError{Key: key, Msg: fmt.Sprintf(format, args...)}
}

// WithDefaults returns s with unset (zero) fields filled: interval 2s,
// timeout 1s (or interval/2 when the interval is 1s or shorter), fail_after 3,
// recover_after 2, and for haproxy the Debian stats socket. Negative values
// are left for Validate to reject.
func (s Spec) WithDefaults() Spec {
	if s.Interval == 0 {
		s.Interval = DefaultInterval
	}
	if s.Timeout == 0 {
		s.Timeout = DefaultTimeout
		if s.Interval > 0 && s.Timeout >= s.Interval {
			s.Timeout = s.Interval / 2
		}
	}
	if s.FailAfter == 0 {
		s.FailAfter = DefaultFailAfter
	}
	if s.RecoverAfter == 0 {
		s.RecoverAfter = DefaultRecoverAfter
	}
	if s.Check == CheckHAProxy && s.Socket == "" {
		s.Socket = DefaultHAProxySocket
	}
	if isStream(s.Check) {
		if s.Window == 0 {
			s.Window = DefaultWindow
		}
		if s.Threshold == 0 {
			s.Threshold = 1
			if s.Check == CheckARPUnanswered {
				s.Threshold = DefaultUnanswered
			}
		}
	}
	return s
}

// Validate checks a Spec after WithDefaults. The error is a *FieldError whose
// message starts with the YAML key: `target: "10.0.0.5" needs host:port for
// check tcp`. Zero durations and counts are errors here; WithDefaults fills
// the ones left unset.
func (s Spec) Validate() error {
	if strings.TrimSpace(s.Name) == "" {
		return fieldErr("name", "must not be empty")
	}
	known := false
	for _, c := range Checks() {
		known = known || s.Check == c
	}
	if !known {
		return fieldErr("check", "unknown check %q (want one of %s)", s.Check, strings.Join(Checks(), ", "))
	}
	if err := validateTarget(s); err != nil {
		return err
	}
	switch {
	case s.Interval < 0:
		return fieldErr("interval", "must not be negative, got %v", s.Interval)
	case s.Interval == 0:
		return fieldErr("interval", "must be positive, got 0s")
	case s.Timeout < 0:
		return fieldErr("timeout", "must not be negative, got %v", s.Timeout)
	case s.Timeout == 0:
		return fieldErr("timeout", "must be positive, got 0s")
	case s.Timeout >= s.Interval:
		return fieldErr("timeout", "%v must be shorter than interval %v", s.Timeout, s.Interval)
	case s.FailAfter < 1:
		return fieldErr("fail_after", "must be at least 1, got %d", s.FailAfter)
	case s.RecoverAfter < 1:
		return fieldErr("recover_after", "must be at least 1, got %d", s.RecoverAfter)
	case s.Cooldown < 0:
		return fieldErr("cooldown", "must not be negative, got %v", s.Cooldown)
	}
	if len(s.Expect) > 0 && s.Check != CheckHTTP {
		return fieldErr("expect", "only used by check http, not %s", s.Check)
	}
	for _, code := range s.Expect {
		if code < 100 || code > 599 {
			return fieldErr("expect", "%d is not an HTTP status code (100-599)", code)
		}
	}
	if s.Interface != "" {
		if s.Check != CheckARP && s.Check != CheckNeighbor {
			return fieldErr("interface", "only used by checks arp and neighbor, not %s", s.Check)
		}
		if len(s.Interface) > 15 || strings.ContainsAny(s.Interface, "/ \t\n:") {
			return fieldErr("interface", "%q is not an interface name", s.Interface)
		}
	}
	if s.Socket != "" && s.Check != CheckHAProxy {
		return fieldErr("socket", "only used by check haproxy, not %s", s.Check)
	}
	if len(s.Command) > 0 && s.Check != CheckExec {
		return fieldErr("target", "an argv list is only for check exec; check %s takes a string", s.Check)
	}
	if !isStream(s.Check) && (s.Threshold != 0 || s.Window != 0) {
		key := "threshold"
		if s.Window != 0 {
			key = "window"
		}
		return fieldErr(key, "only used by checks %s and %s, not %s", CheckARPUnanswered, CheckARPConflict, s.Check)
	}
	if isStream(s.Check) {
		switch {
		case s.Threshold < 1:
			return fieldErr("threshold", "must be at least 1, got %d", s.Threshold)
		case s.Window <= 0:
			return fieldErr("window", "must be positive, got %v", s.Window)
		}
	}
	return nil
}

func validateTarget(s Spec) error {
	t := s.Target
	switch s.Check {
	case CheckExec:
		if t != "" || len(s.Command) == 0 {
			return fieldErr("target", "check exec needs an argv list (run without a shell), e.g. target: [/usr/bin/curl, -f, http://x/]")
		}
		if s.Command[0] == "" {
			return fieldErr("target", "check exec: the program (first argv element) must not be empty")
		}
		return nil
	case CheckHAProxy:
		if s.Socket == "" {
			return fieldErr("socket", "check haproxy needs the stats socket path")
		}
		if !filepath.IsAbs(s.Socket) {
			return fieldErr("socket", "%q must be an absolute path", s.Socket)
		}
	}
	if t == "" {
		return fieldErr("target", "must not be empty for check %s", s.Check)
	}
	switch s.Check {
	case CheckTCP:
		host, port, err := net.SplitHostPort(t)
		if err != nil || host == "" {
			return fieldErr("target", "%q needs host:port for check tcp", t)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fieldErr("target", "%q: port %q must be 1-65535", t, port)
		}
		if !validHost(host) {
			return fieldErr("target", "%q: %q is not a host name or IP address", t, host)
		}
	case CheckICMP:
		if !validHost(t) {
			return fieldErr("target", "%q needs a host name or IP address for check icmp (no port)", t)
		}
	case CheckHTTP:
		u, err := url.Parse(t)
		if err != nil {
			return fieldErr("target", "%q is not a URL: %v", t, err)
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			return fieldErr("target", "%q needs an http:// or https:// URL for check http", t)
		}
		if u.Host == "" {
			return fieldErr("target", "%q has no host", t)
		}
	case CheckARP:
		a, err := netip.ParseAddr(t)
		if err != nil || !a.Is4() {
			return fieldErr("target", "%q needs an IPv4 address for check arp", t)
		}
		if a.IsUnspecified() || a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
			return fieldErr("target", "%q is not a unicast address", t)
		}
	case CheckNeighbor:
		if _, err := parseIPList(t); err != nil {
			return fieldErr("target", "%v", err)
		}
	case CheckHAProxy:
		if _, _, err := splitHAProxyTarget(t); err != nil {
			return fieldErr("target", "%v", err)
		}
	case CheckARPUnanswered, CheckARPConflict:
		if a, err := netip.ParseAddr(t); err != nil || a.Zone() != "" {
			return fieldErr("target", "%q needs an IP address for check %s", t, s.Check)
		}
	}
	return nil
}

// validHost accepts an IP literal (IPv6 with optional zone) or a DNS name.
func validHost(h string) bool {
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	if len(h) == 0 || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			ok := c == '-' || c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
			if !ok {
				return false
			}
		}
	}
	return true
}

// parseIPList parses "10.0.0.1" or "10.0.0.1, 10.0.0.5,fe80::1".
func parseIPList(t string) ([]netip.Addr, error) {
	var out []netip.Addr
	seen := map[netip.Addr]bool{}
	for _, f := range strings.Split(t, ",") {
		f = strings.TrimSpace(f)
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q needs an IP address or a comma-separated list of them for check neighbor (bad %q)", t, f)
		}
		a = a.WithZone("")
		if seen[a] {
			return nil, fmt.Errorf("%q lists %s twice", t, a)
		}
		seen[a] = true
		out = append(out, a)
	}
	return out, nil
}

func splitHAProxyTarget(t string) (backend, server string, err error) {
	backend, server, ok := strings.Cut(t, "/")
	if !ok || backend == "" || server == "" || strings.Contains(server, "/") || strings.ContainsAny(t, " \t,\n") {
		return "", "", fmt.Errorf("%q needs backend/server for check haproxy, e.g. www/web1", t)
	}
	return backend, server, nil
}
