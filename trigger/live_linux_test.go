package trigger

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/arpbox/arpbox/internal/nstest"
)

// Live tests: every check against the real thing, in namespaces on
// 10.204.0.0/16 (one /24 per test). Probes run inside a namespace with
// Host.Do, so all their sockets live there.

// probeIn runs one probe of c inside h with the given timeout.
func probeIn(t *testing.T, h *nstest.Host, c Check, timeout time.Duration) error {
	t.Helper()
	var perr error
	err := h.Do(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		perr = c.Probe(ctx)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return perr
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func mustCheck(t *testing.T, s Spec) Check {
	t.Helper()
	s.Name = "live"
	s = s.WithDefaults()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	c, err := NewCheck(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wantProbe(t *testing.T, what string, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("%s: Probe = %v, want success", what, err)
	case want != "" && err == nil:
		t.Errorf("%s: Probe succeeded, want error matching %q", what, want)
	case want != "" && !regexp.MustCompile(want).MatchString(err.Error()):
		t.Errorf("%s: Probe = %q, want match %q", what, err, want)
	default:
		t.Logf("%s: %v", what, err)
	}
}

// waitLink waits until h reaches ip (a fresh veth may take a moment).
func waitLink(t *testing.T, h *nstest.Host, ip string) {
	t.Helper()
	var err error
	for range 20 {
		if _, err = h.Run("ping", "-c", "1", "-W", "1", ip); err == nil {
			return
		}
	}
	t.Fatalf("%s does not reach %s: %v", h.NS, ip, err)
}

// nftRules installs an nft table in h from a ruleset script.
func nftRules(t *testing.T, h *nstest.Host, ruleset string) {
	t.Helper()
	h.MustRun("nft", ruleset)
}

func TestTCPLive(t *testing.T) {
	nstest.RequireRoot(t, "nft", "ping")
	a, b := nstest.NewHost(t, "ta"), nstest.NewHost(t, "tb")
	_, lb := nstest.Veth(t, a, "10.204.1.1/24", b, "10.204.1.2/24")
	waitLink(t, a, "10.204.1.2")
	var ln net.Listener
	if err := b.Do(func() (err error) {
		ln, err = net.Listen("tcp", lb.Addr().String()+":8080")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	open := mustCheck(t, Spec{Check: CheckTCP, Target: "10.204.1.2:8080"})
	closed := mustCheck(t, Spec{Check: CheckTCP, Target: "10.204.1.2:8081"})
	wantProbe(t, "listening", probeIn(t, a, open, 2*time.Second), "")
	wantProbe(t, "closed port", probeIn(t, a, closed, time.Second), `connection refused`)

	nftRules(t, b, "add table inet t; add chain inet t in { type filter hook input priority 0; policy accept; }; add rule inet t in tcp dport 8080 drop")
	start := time.Now()
	wantProbe(t, "dropped", probeIn(t, a, open, 300*time.Millisecond), `i/o timeout|deadline exceeded`)
	if took := time.Since(start); took > time.Second {
		t.Errorf("dropped probe took %v with a 300ms timeout", took)
	}
}

func TestHTTPLive(t *testing.T) {
	nstest.RequireRoot(t, "ping")
	a, b := nstest.NewHost(t, "ha"), nstest.NewHost(t, "hb")
	nstest.Veth(t, a, "10.204.2.1/24", b, "10.204.2.2/24")
	waitLink(t, a, "10.204.2.2")
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			fmt.Fprintln(w, "ok")
		case "/redirect":
			http.Redirect(w, r, "/broken", http.StatusFound)
		case "/broken":
			http.Error(w, "broken", http.StatusServiceUnavailable)
		case "/nocontent":
			w.WriteHeader(http.StatusNoContent)
		case "/big":
			chunk := []byte(strings.Repeat("x", 64<<10))
			for range 1 << 10 { // 64 MiB, stops when the client hangs up
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}
	})
	serve := func(port string, tlsOn bool) {
		srv := httptest.NewUnstartedServer(handler)
		srv.Listener.Close()
		if err := b.Do(func() (err error) {
			srv.Listener, err = net.Listen("tcp", "10.204.2.2:"+port)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if tlsOn {
			srv.StartTLS()
		} else {
			srv.Start()
		}
		t.Cleanup(srv.Close)
	}
	serve("80", false)
	serve("443", true)

	tests := []struct {
		url    string
		expect []int
		want   string
	}{
		{"http://10.204.2.2/ok", nil, ""},
		{"http://10.204.2.2:80/ok", []int{200}, ""},
		{"http://10.204.2.2/redirect", nil, ""}, // 302 is healthy by default; not followed
		{"http://10.204.2.2/redirect", []int{200}, `^GET http://10.204.2.2/redirect: status 302 Found, want 200$`},
		{"http://10.204.2.2/broken", nil, `^GET http://10.204.2.2/broken: status 503 Service Unavailable, want 200-399$`},
		{"http://10.204.2.2/nocontent", []int{204}, ""},
		{"http://10.204.2.2/big", nil, ""},
		{"http://10.204.2.2/slow", nil, `deadline exceeded|timeout`},
		{"http://10.204.2.2:81/ok", nil, `connection refused`},
		{"https://10.204.2.2/ok", nil, `certificate`}, // self-signed: verified, so it fails
	}
	for _, tc := range tests {
		c := mustCheck(t, Spec{Check: CheckHTTP, Target: tc.url, Expect: tc.expect})
		timeout := 2 * time.Second
		switch {
		case strings.HasPrefix(tc.url, "https"):
			timeout = 3 * time.Second // a TLS handshake under -race on a busy box
		case strings.HasSuffix(tc.url, "/slow"):
			timeout = 500 * time.Millisecond
		}
		start := time.Now()
		wantProbe(t, fmt.Sprintf("%s expect %v", tc.url, tc.expect), probeIn(t, a, c, timeout), tc.want)
		if took := time.Since(start); took > timeout+time.Second {
			t.Errorf("%s took %v", tc.url, took)
		}
	}
}

func TestICMPLive(t *testing.T) {
	nstest.RequireRoot(t, "nft", "ping", "sysctl")
	a, b := nstest.NewHost(t, "ia"), nstest.NewHost(t, "ib")
	la, lb := nstest.Veth(t, a, "10.204.3.1/24", b, "10.204.3.2/24")
	waitLink(t, a, "10.204.3.2")
	a.MustRun("ip", "-6", "addr", "add", "fd00:204:3::1/64", "dev", la.Name, "nodad")
	b.MustRun("ip", "-6", "addr", "add", "fd00:204:3::2/64", "dev", lb.Name, "nodad")
	wantProbe(t, "echo over IPv6", probeIn(t, a, mustCheck(t, Spec{Check: CheckICMP, Target: "fd00:204:3::2"}), 2*time.Second), "")
	wantProbe(t, "IPv6, nobody there", probeIn(t, a, mustCheck(t, Spec{Check: CheckICMP, Target: "fd00:204:3::9"}), 500*time.Millisecond), `no echo reply from fd00:204:3::9|unreachable`)
	c := mustCheck(t, Spec{Check: CheckICMP, Target: "10.204.3.2"})
	wantProbe(t, "echo", probeIn(t, a, c, 2*time.Second), "")
	wantProbe(t, "second echo", probeIn(t, a, c, 2*time.Second), "")
	wantProbe(t, "nobody there", probeIn(t, a, mustCheck(t, Spec{Check: CheckICMP, Target: "10.204.3.9"}), 500*time.Millisecond), `no echo reply from 10.204.3.9|unreachable`)
	// The unprivileged ping socket, as a non-root arpbox would use it.
	a.MustRun("sysctl", "-q", "-w", "net.ipv4.ping_group_range=0 2147483647")
	dg := &icmpCheck{host: "10.204.3.2", log: discard(), datagramOnly: true}
	wantProbe(t, "echo over ping socket", probeIn(t, a, dg, 2*time.Second), "")
	wantProbe(t, "ping socket, nobody there", probeIn(t, a, &icmpCheck{host: "10.204.3.9", log: discard(), datagramOnly: true}, 500*time.Millisecond), `no echo reply from 10.204.3.9`)
	a.MustRun("sysctl", "-q", "-w", "net.ipv4.ping_group_range=1 0")
	wantProbe(t, "ping socket not allowed", probeIn(t, a, dg, time.Second), `ping socket \(see sysctl net.ipv4.ping_group_range\)`)

	nftRules(t, b, "add table inet t; add chain inet t in { type filter hook input priority 0; policy accept; }; add rule inet t in icmp type echo-request drop")
	start := time.Now()
	wantProbe(t, "dropped", probeIn(t, a, c, 500*time.Millisecond), `^no echo reply from 10.204.3.2: context deadline exceeded$`)
	if took := time.Since(start); took > 1500*time.Millisecond {
		t.Errorf("dropped probe took %v", took)
	}
}

func TestARPLive(t *testing.T) {
	nstest.RequireRoot(t, "nft", "ping")
	a, b := nstest.NewHost(t, "aa"), nstest.NewHost(t, "ab")
	la, _ := nstest.Veth(t, a, "10.204.4.1/24", b, "10.204.4.2/24")
	waitLink(t, a, "10.204.4.2")
	a.MustRun("ip", "route", "add", "10.204.99.0/24", "via", "10.204.4.2")

	explicit := mustCheck(t, Spec{Check: CheckARP, Target: "10.204.4.2", Interface: la.Name})
	routed := mustCheck(t, Spec{Check: CheckARP, Target: "10.204.4.2"})
	wantProbe(t, "reply, interface given", probeIn(t, a, explicit, 2*time.Second), "")
	wantProbe(t, "reply, interface from route", probeIn(t, a, routed, 2*time.Second), "")
	wantProbe(t, "off-link", probeIn(t, a, mustCheck(t, Spec{Check: CheckARP, Target: "10.204.99.5"}), time.Second),
		`^arp: 10.204.99.5 is not on a directly connected network \(route via 10.204.4.2 dev `+la.Name+`\)`)
	wantProbe(t, "no route", probeIn(t, a, mustCheck(t, Spec{Check: CheckARP, Target: "192.0.2.1"}), time.Second), `no route to 192.0.2.1`)
	wantProbe(t, "missing interface", probeIn(t, a, mustCheck(t, Spec{Check: CheckARP, Target: "10.204.4.2", Interface: "nosuch0"}), time.Second), `interface nosuch0`)

	nftRules(t, b, "add table arp t; add chain arp t in { type filter hook input priority 0; policy drop; }")
	start := time.Now()
	wantProbe(t, "peer drops ARP", probeIn(t, a, routed, 1200*time.Millisecond),
		`^no ARP reply from 10.204.4.2 on `+la.Name+` \(who-has from `+la.MAC.String()+` 10.204.4.1\): context deadline exceeded$`)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("dropped probe took %v", took)
	}
	b.MustRun("nft", "delete", "table", "arp", "t")
	wantProbe(t, "ARP back", probeIn(t, a, explicit, 2*time.Second), "")
}

func TestNeighborLive(t *testing.T) {
	nstest.RequireRoot(t, "nft", "ping")
	a, b := nstest.NewHost(t, "na"), nstest.NewHost(t, "nb")
	la, _ := nstest.Veth(t, a, "10.204.5.1/24", b, "10.204.5.2/24")
	c := mustCheck(t, Spec{Check: CheckNeighbor, Target: "10.204.5.2, 10.204.5.3", Interface: la.Name})
	other := mustCheck(t, Spec{Check: CheckNeighbor, Target: "10.204.5.2", Interface: "other0"})

	wantProbe(t, "no entry yet", probeIn(t, a, c, time.Second), "")
	a.MustRun("ping", "-c", "1", "-W", "1", "10.204.5.2")
	wantProbe(t, "resolved", probeIn(t, a, c, time.Second), "")

	// Watch inside a's namespace; count kicks.
	kicks := make(chan struct{}, 100)
	ctx, cancel := context.WithCancel(context.Background())
	watchDone := make(chan error, 1)
	go func() {
		watchDone <- a.Do(func() error {
			return c.(Watcher).Watch(ctx, func() { kicks <- struct{}{} })
		})
	}()
	defer func() {
		cancel()
		if err := <-watchDone; err != nil {
			t.Errorf("Watch = %v", err)
		}
	}()
	time.Sleep(200 * time.Millisecond) // let the subscription start
	for len(kicks) > 0 {
		<-kicks
	}

	// The backend stops answering ARP; a's entry goes INCOMPLETE, then FAILED.
	nftRules(t, b, "add table arp t; add chain arp t in { type filter hook input priority 0; policy drop; }")
	a.MustRun("ip", "neigh", "flush", "dev", la.Name)
	_, _ = a.Run("ping", "-c", "1", "-W", "1", "10.204.5.2")
	var err error
	for range 100 {
		if err = probeIn(t, a, c, time.Second); err != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	wantProbe(t, "peer drops ARP", err, `^neighbor 10.204.5.2 on `+la.Name+` is (INCOMPLETE|FAILED)$`)
	wantProbe(t, "other interface", probeIn(t, a, other, time.Second), "")

	// FAILED is announced over netlink: the watch kicks.
	deadline := time.After(10 * time.Second)
	for kicked := false; !kicked; {
		select {
		case <-kicks:
			kicked = true
		case <-deadline:
			out, _ := a.Run("ip", "neigh")
			t.Fatalf("no kick from the neighbor watch; ip neigh:\n%s", out)
		}
	}

	b.MustRun("nft", "delete", "table", "arp", "t")
	for range 50 {
		_, _ = a.Run("ping", "-c", "1", "-W", "1", "10.204.5.2")
		if err = probeIn(t, a, c, time.Second); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	wantProbe(t, "ARP back", err, "")
}

func TestHAProxyLive(t *testing.T) {
	nstest.RequireRoot(t, "haproxy", "ping")
	lbh, beh := nstest.NewHost(t, "la"), nstest.NewHost(t, "lb")
	nstest.Veth(t, lbh, "10.204.6.1/24", beh, "10.204.6.2/24")
	waitLink(t, lbh, "10.204.6.2")

	var ln net.Listener
	if err := beh.Do(func() (err error) {
		ln, err = net.Listen("tcp", "10.204.6.2:8080")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	defer ln.Close()

	dir := t.TempDir()
	sock := dir + "/admin.sock"
	cfg := dir + "/haproxy.cfg"
	writeFile(t, cfg, `global
    stats socket `+sock+` mode 600 level admin
defaults
    mode tcp
    timeout connect 500ms
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:18080
    default_backend www
backend www
    server web1 10.204.6.2:8080 check inter 200ms fall 2 rise 1
    server web2 10.204.6.2:8080 check inter 200ms fall 2 rise 1 disabled
`)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := lbh.Command(ctx, "haproxy", "-db", "-f", cfg)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		_ = cmd.Wait()
		t.Logf("haproxy output:\n%s", out.String())
	}()

	web1 := mustCheck(t, Spec{Check: CheckHAProxy, Target: "www/web1", Socket: sock})
	var err error
	for range 50 {
		if err = probeIn(t, lbh, web1, time.Second); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	wantProbe(t, "web1 up", err, "")
	wantProbe(t, "web2 in maintenance", probeIn(t, lbh, mustCheck(t, Spec{Check: CheckHAProxy, Target: "www/web2", Socket: sock}), time.Second), "")
	wantProbe(t, "unknown server", probeIn(t, lbh, mustCheck(t, Spec{Check: CheckHAProxy, Target: "www/web9", Socket: sock}), time.Second),
		`^haproxy `+regexp.QuoteMeta(sock)+`: server "web9" not found in backend "www"$`)
	wantProbe(t, "no socket", probeIn(t, lbh, mustCheck(t, Spec{Check: CheckHAProxy, Target: "www/web1", Socket: dir + "/nope.sock"}), time.Second),
		`^haproxy stats socket: dial unix .*nope.sock: connect: no such file or directory$`)

	// The backend goes away: HAProxy's own checks mark web1 DOWN.
	ln.Close()
	for range 50 {
		if err = probeIn(t, lbh, web1, time.Second); err != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	wantProbe(t, "backend gone", err, `^haproxy server www/web1 is DOWN \(check: L4CON Connection refused\)$`)
}
