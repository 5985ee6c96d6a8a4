// Package nstest makes throwaway test hosts in Linux network namespaces, joined by veth pairs.
package nstest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// RequireRoot skips t unless the test runs as root with the tools named (and
// "ip" always) on PATH. It never fakes a pass: the skip message says why.
func RequireRoot(t testing.TB, tools ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: needs root to create network namespaces (run the suite as root, as CI does)")
	}
	for _, tool := range append([]string{"ip"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("skipping: %s not found on PATH (CI installs it via .ci/run)", tool)
		}
	}
}

// RequireTool skips t when a tool is missing from PATH.
func RequireTool(t testing.TB, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		t.Skipf("skipping: %s not found on PATH (CI installs it via .ci/run)", tool)
	}
	return p
}

var seq atomic.Uint64

// uniq returns a short name unique to this process and call, usable as a
// namespace or interface name (at most 15 bytes).
func uniq(prefix string) string {
	n := fmt.Sprintf("%s%d%x", prefix, os.Getpid()%10000, seq.Add(1))
	if len(n) > 15 {
		n = n[len(n)-15:]
	}
	return n
}

// Host is one network namespace.
type Host struct {
	t  testing.TB
	NS string
}

// NewHost creates an empty namespace with loopback up, deleted when the test ends.
func NewHost(t testing.TB, prefix string) *Host {
	t.Helper()
	h := &Host{t: t, NS: uniq("abx" + prefix)}
	mustRun(t, "ip", "netns", "add", h.NS)
	t.Cleanup(func() {
		// Killing what still runs inside keeps "netns del" from leaving a
		// half-alive namespace behind.
		if out, err := exec.Command("ip", "netns", "pids", h.NS).Output(); err == nil {
			for _, pid := range strings.Fields(string(out)) {
				if pid == strconv.Itoa(os.Getpid()) {
					continue // a thread of ours still inside; never kill the test itself
				}
				_ = exec.Command("kill", "-9", pid).Run()
			}
		}
		_ = exec.Command("ip", "netns", "del", h.NS).Run()
	})
	h.MustRun("ip", "link", "set", "lo", "up")
	return h
}

// Command returns cmd to run argv inside the namespace.
func (h *Host) Command(ctx context.Context, argv ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", h.NS}, argv...)...)
}

// Run runs argv inside the namespace and returns combined output.
func (h *Host) Run(argv ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := h.Command(ctx, argv...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("netns %s: %s: %w: %s", h.NS, strings.Join(argv, " "), err, bytes.TrimSpace(out))
	}
	return string(out), nil
}

// MustRun is Run that fails the test on error.
func (h *Host) MustRun(argv ...string) string {
	h.t.Helper()
	out, err := h.Run(argv...)
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

// Link is one end of a veth pair, inside a Host.
type Link struct {
	Host *Host
	Name string
	IP   netip.Prefix
	MAC  net.HardwareAddr
}

// Addr is the link's IPv4 address without the prefix length.
func (l *Link) Addr() netip.Addr { return l.IP.Addr() }

// Veth joins a and b with a veth pair, sets the given addresses (CIDR, may be
// empty for none) and brings both ends up. MACs are fixed per call so captures
// are easy to read: 02:ab:00:00:<n>:01 on a, …:02 on b.
func Veth(t testing.TB, a *Host, aCIDR string, b *Host, bCIDR string) (*Link, *Link) {
	t.Helper()
	n := seq.Add(1)
	la := &Link{Host: a, Name: uniq("va")}
	lb := &Link{Host: b, Name: uniq("vb")}
	la.MAC = net.HardwareAddr{0x02, 0xab, 0, byte(n >> 8), byte(n), 1}
	lb.MAC = net.HardwareAddr{0x02, 0xab, 0, byte(n >> 8), byte(n), 2}
	mustRun(t, "ip", "link", "add", la.Name, "netns", a.NS, "address", la.MAC.String(),
		"type", "veth", "peer", "name", lb.Name, "netns", b.NS, "address", lb.MAC.String())
	for _, x := range []struct {
		l    *Link
		cidr string
	}{{la, aCIDR}, {lb, bCIDR}} {
		if x.cidr != "" {
			p, err := netip.ParsePrefix(x.cidr)
			if err != nil {
				t.Fatalf("nstest: bad CIDR %q: %v", x.cidr, err)
			}
			x.l.IP = p
			x.l.Host.MustRun("ip", "addr", "add", x.cidr, "dev", x.l.Name)
		}
		x.l.Host.MustRun("ip", "link", "set", x.l.Name, "up")
	}
	return la, lb
}

func mustRun(t testing.TB, argv ...string) {
	t.Helper()
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(argv, " "), err, bytes.TrimSpace(out))
	}
}
