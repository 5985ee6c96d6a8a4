package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arpbox/arpbox/internal/nstest"
	"github.com/arpbox/arpbox/internal/wine/winetest"
)

// TestArpboxWine runs arpbox.exe (windows/amd64) under Wine inside network
// namespaces: capture through Wine's wpcap.dll, the ARP table through
// iphlpapi, bundles and reports read on the Linux side. scripts/test-windows.sh
// prepares the Wine prefix and runs it.
func TestArpboxWine(t *testing.T) {
	winetest.Require(t)
	nstest.RequireRoot(t, "arping", "ping", "nft", "tshark", "capinfos")
	exe := buildWindowsArpbox(t)

	t.Run("records", func(t *testing.T) { wineRecords(t, exe) })
	t.Run("no npcap", func(t *testing.T) { wineNoNpcap(t, exe) })
	t.Run("story", func(t *testing.T) { wineStory(t, exe) })
	t.Run("two-sided", func(t *testing.T) { wineTwoSided(t, exe) })
	t.Run("service", func(t *testing.T) { wineService(t, exe) })
}

// buildWindowsArpbox builds arpbox.exe for windows/amd64.
func buildWindowsArpbox(t *testing.T) string {
	t.Helper()
	exe := filepath.Join(t.TempDir(), "arpbox.exe")
	cmd := exec.Command("go", "build", "-o", exe, ".")
	cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build arpbox.exe: %v\n%s", err, out)
	}
	return exe
}

// winPath is a Linux path as a Windows program under Wine names it (drive
// Z: is the Linux root).
func winPath(p string) string { return "Z:" + p }

// wineConfig writes a configuration for arpbox.exe capturing on iface
// (YAML-quoted; "": the default route's) with everything under dir, plus
// extra top-level YAML.
func wineConfig(t *testing.T, dir, iface, extra string) string {
	t.Helper()
	ifaces := "[]" // the default route's interface
	if iface != "" {
		ifaces = "['" + iface + "']"
	}
	body := fmt.Sprintf(`data_dir: %[1]s/data
capture:
  interfaces: %[2]s
  buffer_size: 1MiB
ring:
  dir: %[1]s/ring
  segment_size: 256KiB
  segment_duration: 3s
  max_size: 16MiB
snapshots:
  dir: %[1]s/snapshots
  before: 1m
  after: 2s
  cooldown: 5s
control:
  socket: %[1]s/control.json
%[3]s`, winPath(dir), ifaces, extra)
	p := filepath.Join(dir, "arpbox.yaml")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return winPath(p)
}

// startWine runs `arpbox.exe run -config cfg` under w and waits until its
// capture is up. Where a Wine gap keeps it from starting, the test skips
// naming the gap.
func startWine(t *testing.T, w *winetest.Wine, exe, cfg string, env ...string) *daemonProc {
	t.Helper()
	d := startCommand(t, w.Command(context.Background(), env, exe, "run", "-config", cfg))
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		log := d.log()
		switch {
		case strings.Contains(log, "capture: started"):
			return d
		case strings.Contains(log, "10047"):
			t.Skipf("skipping: Wine gap: no AF_UNIX sockets (winsock error 10047) for the control socket:\n%s", log)
		}
		select {
		case <-d.done:
			t.Fatalf("arpbox.exe exited before capturing:\n%s", d.log())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("arpbox.exe did not start capturing within 30 s:\n%s", d.log())
	return nil
}

// stopWine stops arpbox.exe as Ctrl-C would (Wine turns SIGINT into a
// console control event, which Go delivers as os.Interrupt), wants a clean
// exit within 5 s and returns how long it took.
func stopWine(t *testing.T, d *daemonProc) time.Duration {
	t.Helper()
	start := time.Now()
	_ = d.cmd.Process.Signal(syscall.SIGINT)
	errc := make(chan error, 1)
	go func() { errc <- d.cmd.Wait() }()
	select {
	case err := <-errc:
		<-d.done
		took := time.Since(start)
		if err != nil {
			t.Errorf("arpbox.exe exit after Ctrl-C: %v\n%s", err, d.log())
		}
		return took
	case <-time.After(5 * time.Second):
		_ = d.cmd.Process.Kill()
		<-errc
		t.Fatalf("arpbox.exe still running 5 s after Ctrl-C:\n%s", d.log())
		return 0
	}
}

// ringARP reads every ring segment with capinfos and tshark and returns the
// ARP frames.
func ringARP(t *testing.T, dir string) []frame {
	t.Helper()
	sealed, parts := ringFiles(t, dir)
	if len(parts) != 0 {
		t.Errorf("unsealed segments after a clean stop: %v", parts)
	}
	if len(sealed) == 0 {
		t.Fatalf("no ring segments in %s", dir)
	}
	var out []frame
	for _, f := range sealed {
		n := capinfosCount(t, f)
		fs := readFrames(t, f)
		if len(fs) != n {
			t.Errorf("%s: capinfos counts %d packets, tshark reads %d", f, n, len(fs))
		}
		for _, fr := range fs {
			if !fr.isARP() {
				t.Errorf("%s frame %d is %s, not ARP", f, fr.No, fr.Protos)
			}
			out = append(out, fr)
		}
	}
	return out
}

// wineRecords: arpbox.exe records ARP from arping (and no ICMP) into a ring
// that tshark and capinfos read, with the interface named by its
// description (Wine: the Linux name), by its Npcap device name, by its
// address, and not at all (the default route's); stopping is prompt with
// traffic flowing and without.
func wineRecords(t *testing.T, exe string) {
	a := nstest.NewHost(t, "wr")
	b := nstest.NewHost(t, "wr")
	la, lb := nstest.Veth(t, a, "10.79.0.1/24", b, "10.79.0.2/24")
	a.MustRun("ip", "route", "add", "default", "via", lb.Addr().String())
	w := winetest.Start(t, a)
	idx := strings.TrimSpace(a.MustRun("cat", "/sys/class/net/"+la.Name+"/ifindex"))
	var n int
	if _, err := fmt.Sscan(idx, &n); err != nil {
		t.Fatalf("ifindex of %s: %q", la.Name, idx)
	}
	// Wine names a device after the interface index (and "NetDev").
	guid := fmt.Sprintf(`\Device\NPF_{%08X-0000-0000-0000-4E6574446576}`, n)

	for _, tc := range []struct {
		name, iface string
		traffic     bool // traffic still flowing at the stop
	}{
		{"description", la.Name, true},
		{"device name", guid, false},
		{"address", la.Addr().String(), true},
		{"default route", "", false}, // found with GetIpForwardTable2
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			d := startWine(t, w, exe, wineConfig(t, dir, tc.iface, ""))
			if tc.iface == "" && !strings.Contains(d.log(), "iface="+la.Name) {
				t.Errorf("with no interface configured, want the default route's %s:\n%s", la.Name, d.log())
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			b.MustRun("arping", "-q", "-c", "10", "-W", "0.05", "-i", lb.Name, la.Addr().String())
			_, _ = b.Run("ping", "-q", "-c", "3", "-i", "0.2", la.Addr().String())
			var bg *exec.Cmd
			if tc.traffic {
				bg = b.Command(ctx, "arping", "-q", "-c", "1000", "-W", "0.01", "-i", lb.Name, la.Addr().String())
				if err := bg.Start(); err != nil {
					t.Fatal(err)
				}
				time.Sleep(500 * time.Millisecond)
			} else {
				time.Sleep(1500 * time.Millisecond) // frames handed over, then idle
			}
			took := stopWine(t, d)
			cancel()
			if bg != nil {
				_ = bg.Wait()
			}
			t.Logf("interface %q: stop took %v (traffic at stop: %v)", tc.iface, took.Round(time.Millisecond), tc.traffic)
			if took > 3*time.Second {
				t.Errorf("stop took %v, want prompt", took)
			}
			frames := ringARP(t, filepath.Join(dir, "ring"))
			var req, rep int
			for _, f := range frames {
				switch {
				case f.Op == 1 && f.SPA == lb.Addr().String() && f.TPA == la.Addr().String():
					req++
				case f.Op == 2 && f.SPA == la.Addr().String() && f.EthSrc == la.MAC.String():
					rep++
				}
			}
			t.Logf("%d ARP frames in the ring: %d requests from the peer, %d replies", len(frames), req, rep)
			if req < 10 || rep < 10 {
				t.Errorf("ring holds %d requests and %d replies, want at least the 10 of arping each", req, rep)
			}
		})
	}
}

// wineNoNpcap: without Wine's wpcap.dll (as on Windows without Npcap)
// arpbox.exe run exits 2 with one sentence that says what to install.
func wineNoNpcap(t *testing.T, exe string) {
	a := nstest.NewHost(t, "wn")
	w := winetest.Start(t, a)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := w.Command(ctx, []string{"WINEDLLOVERRIDES=wpcap=d"}, exe, "run", "-config", wineConfig(t, dir, "lo", ""))
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("arpbox.exe run without wpcap.dll: %v, want exit status 2\n%s", err, out)
	}
	msg := strings.TrimSpace(string(out))
	t.Logf("without wpcap.dll: exit 2, %q", msg)
	if strings.Count(msg, "\n") != 0 || !strings.Contains(msg, "Npcap") || !strings.Contains(msg, "https://npcap.com") {
		t.Errorf("want one line naming Npcap and where to get it, got %q", msg)
	}
	if strings.Contains(msg, "panic") || strings.Contains(msg, "goroutine") {
		t.Errorf("a panic: %s", msg)
	}
}

// outage makes h drop ARP in and out (it neither answers nor asks).
func outage(t *testing.T, h *nstest.Host, table string) {
	t.Helper()
	h.MustRun("nft", "add", "table", "arp", table)
	for _, hook := range []string{"input", "output"} {
		h.MustRun("nft", "add", "chain", "arp", table, hook, "{ type filter hook "+hook+" priority 0; }")
		h.MustRun("nft", "add", "rule", "arp", table, hook, "drop")
	}
}

// shortNeighborTimers makes h re-resolve its neighbors every second or so
// while traffic flows, as a busy host does over minutes.
func shortNeighborTimers(t *testing.T, h *nstest.Host, iface string) {
	t.Helper()
	for _, kv := range []string{"base_reachable_time_ms=1000", "delay_first_probe_time=1", "retrans_time_ms=300"} {
		h.MustRun("sysctl", "-qw", "net.ipv4.neigh."+iface+"."+kv)
	}
}

// pinger pings to from h every 200 ms until the test ends.
func pinger(t *testing.T, h *nstest.Host, to string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := h.Command(ctx, "ping", "-q", "-i", "0.2", "-W", "1", to)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
}

// neighborTrigger is a neighbor trigger on ip as YAML. Its timeout is
// generous: under Wine on a loaded box one read of the ARP table through
// the wineserver has taken over 250 ms, which fired the trigger at start.
func neighborTrigger(name, ip string) string {
	return fmt.Sprintf(`triggers:
  - name: %s
    check: neighbor
    target: %s
    interval: 1s
    timeout: 900ms
    fail_after: 1
    recover_after: 2
`, name, ip)
}

// wineStory is the seed story on the Windows side: the gateway stops
// answering ARP; the neighbor trigger sees the server's entry for it fail
// through GetIpNetTable2; the bundle's capture shows the unanswered
// requests and its netstate the entry FAILED.
func wineStory(t *testing.T, exe string) {
	srv, gw := nstest.NewHost(t, "ws"), nstest.NewHost(t, "wg")
	ls, lg := nstest.Veth(t, srv, "10.80.0.5/24", gw, "10.80.0.1/24")
	shortNeighborTimers(t, srv, ls.Name)
	w := winetest.Start(t, srv)
	dir := t.TempDir()
	d := startWine(t, w, exe, wineConfig(t, dir, ls.Name, neighborTrigger("gateway-neighbor", lg.Addr().String())))
	pinger(t, srv, lg.Addr().String())
	time.Sleep(5 * time.Second) // healthy: requests and replies flow
	dropped := time.Now()
	outage(t, gw, "story")
	t.Logf("the gateway drops ARP")
	b := []string{waitBundleAfter(t, filepath.Join(dir, "snapshots"), dropped, 60*time.Second)}
	checkBundle(t, b[0], ls.Addr().String(), lg.Addr().String(), lg.MAC.String())
	// The journal, from polling GetIpNetTable2, has the entry failing.
	j, err := os.ReadFile(filepath.Join(b[0], "journal.txt"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("journal.txt:\n%s", j)
	if !strings.Contains(string(j), lg.Addr().String()) || !strings.Contains(string(j), "-> FAILED") {
		t.Errorf("journal.txt does not show %s going FAILED", lg.Addr())
	}
	stopWine(t, d)
}

// wineTwoSided: a Linux arpbox on the gateway and arpbox.exe on the server
// in one run; the server stops answering ARP; both write a bundle, and
// arpbox report on the two names the failing direction: the gateway's
// requests arrived at the server, which sent no reply.
func wineTwoSided(t *testing.T, exe string) {
	srv, gw := nstest.NewHost(t, "ws"), nstest.NewHost(t, "wg")
	ls, lg := nstest.Veth(t, srv, "10.81.0.5/24", gw, "10.81.0.1/24")
	shortNeighborTimers(t, srv, ls.Name)
	shortNeighborTimers(t, gw, lg.Name)
	w := winetest.Start(t, srv)
	srvDir, gwDir := t.TempDir(), t.TempDir()
	ds := startWine(t, w, exe, wineConfig(t, srvDir, ls.Name, neighborTrigger("gateway-neighbor", lg.Addr().String())))
	dg := startRecorder(t, gw, lg.Name, gwDir, recorderOpts{
		ring:      "segment_size: 256KiB\nsegment_duration: 3s\nmax_size: 16MiB",
		snapshots: "before: 1m\nafter: 2s\ncooldown: 5s",
		triggers:  strings.TrimPrefix(neighborTrigger("server-neighbor", ls.Addr().String()), "triggers:\n"),
	})
	pinger(t, srv, lg.Addr().String())
	pinger(t, gw, ls.Addr().String())
	time.Sleep(5 * time.Second)
	dropped := time.Now()
	outage(t, srv, "twosided")
	t.Logf("the server drops ARP")
	bs := []string{waitBundleAfter(t, filepath.Join(srvDir, "snapshots"), dropped, 60*time.Second)}
	bg := []string{waitBundleAfter(t, filepath.Join(gwDir, "snapshots"), dropped, 60*time.Second)}
	stopWine(t, ds)
	if err := dg.stop(); err != nil {
		t.Errorf("Linux arpbox exit: %v", err)
	}
	out, err := exec.Command(binPath, "report", bg[0], bs[0]).CombinedOutput()
	if err != nil {
		t.Fatalf("arpbox report: %v\n%s", err, out)
	}
	t.Logf("arpbox report gateway server:\n%s", out)
	want := lg.Addr().String() + " → " + ls.Addr().String()
	var row string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, want) && strings.Contains(l, "request arrived, no reply sent") {
			row = l
		}
	}
	if row == "" {
		t.Errorf("the two-sided table has no row %q with \"request arrived, no reply sent\"", want)
	}
}

// wineService: arpbox.exe installs itself as a service under Wine's service
// manager, starts (Running once capture is up), records ARP there, stops
// and uninstalls.
func wineService(t *testing.T, exe string) {
	a := nstest.NewHost(t, "wv")
	b := nstest.NewHost(t, "wv")
	la, lb := nstest.Veth(t, a, "10.82.0.1/24", b, "10.82.0.2/24")
	w := winetest.Start(t, a)
	dir := t.TempDir()
	cfg := wineConfig(t, dir, la.Name, "")
	run := func(argv ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		out, err := w.Command(ctx, nil, argv[0], argv[1:]...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
		}
		return string(out)
	}
	state := func() string {
		out := run("sc", "query", "arpbox")
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, "STATE") {
				return strings.TrimSpace(l)
			}
		}
		return out
	}
	run(exe, "service", "install", "-config", cfg)
	start := time.Now()
	run(exe, "service", "start")
	t.Logf("service start took %v; sc query: %s", time.Since(start).Round(time.Millisecond), state())
	if st := state(); !strings.Contains(st, "RUNNING") {
		t.Fatalf("after start: %s", st)
	}
	b.MustRun("arping", "-q", "-c", "10", "-W", "0.05", "-i", lb.Name, la.Addr().String())
	time.Sleep(1500 * time.Millisecond)
	start = time.Now()
	run(exe, "service", "stop")
	t.Logf("service stop took %v; sc query: %s", time.Since(start).Round(time.Millisecond), state())
	if st := state(); !strings.Contains(st, "STOPPED") {
		t.Errorf("after stop: %s", st)
	}
	run(exe, "service", "uninstall")
	frames := ringARP(t, filepath.Join(dir, "ring"))
	req := 0
	for _, f := range frames {
		if f.Op == 1 && f.SPA == lb.Addr().String() {
			req++
		}
	}
	if req < 10 {
		t.Errorf("the service's ring holds %d requests from the peer, want the 10 of arping", req)
	}
	// Under a service Wine sets %ProgramData% to C:\users\Public.
	log, err := os.ReadFile(filepath.Join(w.Prefix(), "drive_c/users/Public/arpbox/arpbox.log"))
	if err != nil {
		t.Fatalf("the service's log file: %v", err)
	}
	t.Logf("service log:\n%s", log)
	for _, want := range []string{"capture: started", "arpbox stopped"} {
		if !strings.Contains(string(log), want) {
			t.Errorf("the service's log lacks %q", want)
		}
	}
}

// waitBundleAfter waits for a complete bundle in dir whose trigger time
// (the id's leading UTC timestamp, to the second) is not before after: an
// earlier one (a check that failed at start on a loaded box) is not the
// outage the test made.
func waitBundleAfter(t *testing.T, dir string, after time.Time, d time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		for _, b := range bundles(t, dir) {
			id := filepath.Base(b)
			at, err := time.Parse("20060102T150405Z", strings.SplitN(id, "-", 2)[0])
			if err != nil || at.Before(after.UTC().Truncate(time.Second)) {
				continue
			}
			if _, err := os.Stat(b + ".zip"); err == nil {
				return b
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no bundle triggered after %s in %s within %s; have %v", after.UTC().Format(time.RFC3339), dir, d, bundles(t, dir))
	return ""
}
