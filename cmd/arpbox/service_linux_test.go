package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arpbox/arpbox/internal/nstest"
)

// nobody is the unprivileged user the service test runs arpbox as.
const nobody = 65534

// TestUnprivilegedService runs arpbox the way scripts/systemd/arpbox.service
// does: as an unprivileged user holding only CAP_NET_RAW and CAP_NET_ADMIN
// (ambient, bounding set to match, no new privileges), with systemd's
// NOTIFY_SOCKET and WATCHDOG_USEC. It must say READY=1 once capture is up,
// ping the watchdog, record ARP, run its neighbor, arp and icmp checks, and
// write a bundle when the backend stops answering ARP.
func TestUnprivilegedService(t *testing.T) {
	nstest.RequireRoot(t, "setpriv", "nft", "arping", "capinfos")
	gw, be := nstest.NewHost(t, "sgw"), nstest.NewHost(t, "sbe")
	lg, lb := nstest.Veth(t, gw, "10.211.0.1/24", be, "10.211.0.2/24")
	for _, kv := range []string{"base_reachable_time_ms=1000", "delay_first_probe_time=1", "retrans_time_ms=300"} {
		gw.MustRun("sysctl", "-qw", "net.ipv4.neigh."+lg.Name+"."+kv)
	}

	// Everything the service writes lives in dir, owned by the user, as
	// StateDirectory= and RuntimeDirectory= would make it.
	dir := t.TempDir()
	openPath(t, dir)
	if err := os.Chown(dir, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "arpbox")
	self, err := os.ReadFile(binPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	notify := filepath.Join(dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: notify, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := os.Chmod(notify, 0o777); err != nil {
		t.Fatal(err)
	}
	msgs := make(chan string, 100)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			msgs <- string(buf[:n])
		}
	}()

	cfg := filepath.Join(dir, "arpbox.yaml")
	body := fmt.Sprintf(`capture:
  interfaces: [%[1]s]
data_dir: %[2]s
ring:
  dir: %[2]s/ring
  segment_duration: 3s
snapshots:
  dir: %[2]s/snapshots
  before: 1m
  after: 2s
control:
  socket: %[2]s/arpbox.sock
triggers:
  - name: be-icmp
    check: icmp
    target: %[3]s
    interval: 300ms
    timeout: 250ms
    fail_after: 3
  - name: be-arp
    check: arp
    target: %[3]s
    interval: 500ms
    timeout: 300ms
    fail_after: 2
  - name: be-neighbor
    check: neighbor
    target: %[3]s
    interval: 500ms
    fail_after: 1
`, lg.Name, dir, lb.Addr())
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	caps := "-all,+net_raw,+net_admin"
	cmd := gw.Command(context.Background(), "setpriv",
		fmt.Sprintf("--reuid=%d", nobody), fmt.Sprintf("--regid=%d", nobody), "--clear-groups",
		"--inh-caps="+caps, "--ambient-caps="+caps, "--bounding-set="+caps, "--no-new-privs",
		"--", bin, "run", "-config", cfg)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+notify, "WATCHDOG_USEC=1000000")
	d := startCommand(t, cmd)

	waitMsg := func(want string, within time.Duration) string {
		t.Helper()
		deadline := time.After(within)
		for {
			select {
			case m := <-msgs:
				if strings.HasPrefix(m, want) {
					return m
				}
			case <-deadline:
				t.Fatalf("no %q on the notify socket within %v\narpbox log:\n%s", want, within, d.log())
			}
		}
	}
	ready := waitMsg("READY=1", 20*time.Second)
	if !strings.Contains(ready, "STATUS=recording ") || !strings.Contains(ready, " on "+lg.Name+" into ") {
		t.Errorf("READY=1 without a status saying what it records: %q", ready)
	}
	if strings.Contains(d.log(), "not alive") {
		t.Error("the watchdog said arpbox was not alive while it started")
	}
	if !strings.Contains(d.log(), "arpbox recording") {
		t.Error("READY=1 came before arpbox said it records")
	}
	waitMsg("WATCHDOG=1", 3*time.Second)
	waitMsg("WATCHDOG=1", 3*time.Second)

	be.MustRun("arping", "-c", "3", "-w", "5", "-I", lb.Name, lg.Addr().String())
	time.Sleep(3 * time.Second) // checks pass; ARP flows both ways
	be.MustRun("nft", "add", "table", "arp", "svc")
	be.MustRun("nft", "add", "chain", "arp", "svc", "in", "{ type filter hook input priority 0; }")
	be.MustRun("nft", "add", "rule", "arp", "svc", "in", "drop")
	b := waitBundles(t, filepath.Join(dir, "snapshots"), 1, 45*time.Second)[0]

	for _, trig := range []string{"be-icmp", "be-arp", "be-neighbor"} {
		if !strings.Contains(d.log(), "trigger="+trig) {
			t.Errorf("trigger %s never fired or failed (log has no trigger=%s)", trig, trig)
		}
	}
	if strings.Contains(d.log(), "operation not permitted") || strings.Contains(d.log(), "permission denied") {
		t.Errorf("a part of arpbox lacked a privilege:\n%s", d.log())
	}
	captures, _ := filepath.Glob(filepath.Join(b, "capture.pcapng*"))
	if len(captures) != 1 || capinfosCount(t, captures[0]) == 0 {
		t.Fatalf("bundle %s: capture %v missing or empty", b, captures)
	}
	for _, f := range []string{"netstate.json", "manifest.json"} {
		st, err := os.Stat(filepath.Join(b, f))
		if err != nil {
			t.Fatal(err)
		}
		if uid := fileUID(st); uid != nobody {
			t.Errorf("%s is owned by uid %d, want the service user %d", f, uid, nobody)
		}
	}
	if err := d.stop(); err != nil {
		t.Errorf("arpbox exit: %v\n%s", err, d.log())
	}
	waitMsg("STOPPING=1", 5*time.Second)
}

// openPath lets other users reach dir: it adds search permission for group
// and others to dir and each directory above it below the system's
// temporary directory (t.TempDir makes them 0700), never to /tmp itself,
// whose mode belongs to the whole machine.
func openPath(t *testing.T, dir string) {
	t.Helper()
	top := filepath.Clean(os.TempDir())
	for d := dir; strings.HasPrefix(d, top+string(filepath.Separator)); d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, st.Mode().Perm()|0o011); err != nil {
			t.Fatal(err)
		}
	}
}

func fileUID(st os.FileInfo) int {
	return int(st.Sys().(*syscall.Stat_t).Uid)
}
