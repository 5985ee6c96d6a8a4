package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/arpbox/arpbox/internal/nstest"
)

// binPath is the arpbox binary the live tests run, built once by TestMain.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "arpbox-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "arpbox")
	out, err := exec.Command("go", "build", "-race", "-o", binPath, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building arpbox for the live tests: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// daemonProc is an arpbox run inside a test namespace.
type daemonProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	mu   sync.Mutex
	logs bytes.Buffer
	done chan struct{}
}

// startDaemon runs `arpbox run -config cfg` inside h and stops it (SIGTERM,
// then waits) when the test ends.
func startDaemon(t *testing.T, h *nstest.Host, cfg string) *daemonProc {
	t.Helper()
	p := &daemonProc{t: t, done: make(chan struct{})}
	p.cmd = h.Command(context.Background(), binPath, "run", "-config", cfg)
	pr, pw, _ := os.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = pw, pw
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			p.mu.Lock()
			p.logs.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("arpbox log:\n%s", p.log())
		}
	})
	return p
}

func (p *daemonProc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// waitLog waits until the log holds s.
func (p *daemonProc) waitLog(s string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if strings.Contains(p.log(), s) {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// stop sends SIGTERM and waits for a clean exit; returns the exit error.
func (p *daemonProc) stop() error {
	if p.cmd.ProcessState != nil {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	errc := make(chan error, 1)
	go func() { errc <- p.cmd.Wait() }()
	select {
	case err := <-errc:
		<-p.done
		return err
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-errc
		return fmt.Errorf("arpbox did not stop within 15s of SIGTERM")
	}
}

func (p *daemonProc) kill9() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	_ = p.cmd.Wait()
	<-p.done
}

// capinfosCount runs capinfos on f and returns its packet count, failing
// the test when capinfos complains about anything.
func capinfosCount(t *testing.T, f string) int {
	t.Helper()
	out, err := exec.Command("capinfos", "-c", "-M", "-T", f).CombinedOutput()
	if err != nil {
		t.Fatalf("capinfos %s: %v\n%s", f, err, out)
	}
	// -T: tab separated "File name\tNumber of packets" header, then values.
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	fields := strings.Split(lines[len(lines)-1], "\t")
	n, err := strconv.Atoi(strings.TrimSpace(fields[len(fields)-1]))
	if err != nil {
		t.Fatalf("capinfos %s: cannot read packet count from %q", f, out)
	}
	return n
}

// frame is one packet as tshark decodes it.
type frame struct {
	No       int
	Time     float64 // epoch seconds
	Protos   string  // frame.protocols, e.g. "eth:ethertype:arp"
	EthSrc   string
	Op       int // ARP opcode, 0 when not ARP
	SPA, TPA string
	Comment  string
}

func (f frame) isARP() bool { return strings.HasSuffix(f.Protos, ":arp") }

// readFrames decodes f with tshark, once, failing the test when tshark
// complains about the file.
func readFrames(t *testing.T, f string) []frame {
	t.Helper()
	cmd := exec.Command("tshark", "-r", f, "-T", "fields", "-E", "separator=/t",
		"-e", "frame.number", "-e", "frame.time_epoch", "-e", "frame.protocols", "-e", "eth.src",
		"-e", "arp.opcode", "-e", "arp.src.proto_ipv4", "-e", "arp.dst.proto_ipv4", "-e", "frame.comment")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark -r %s: %v\n%s", f, err, stderr.String())
	}
	if s := strings.TrimSpace(stderr.String()); s != "" && !strings.Contains(s, "Running as user") {
		t.Fatalf("tshark complained about %s: %s", f, s)
	}
	var frames []frame
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if line == "" {
			continue
		}
		c := strings.Split(line, "\t")
		for len(c) < 8 {
			c = append(c, "")
		}
		var fr frame
		fr.No, _ = strconv.Atoi(c[0])
		fr.Time, _ = strconv.ParseFloat(c[1], 64)
		fr.Protos, fr.EthSrc = c[2], c[3]
		fr.Op, _ = strconv.Atoi(c[4])
		fr.SPA, fr.TPA, fr.Comment = c[5], c[6], c[7]
		frames = append(frames, fr)
	}
	return frames
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "arpbox.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func ringFiles(t *testing.T, dir string) (sealed, parts []string) {
	t.Helper()
	sealed, _ = filepath.Glob(filepath.Join(dir, "arp-*.pcapng"))
	parts, _ = filepath.Glob(filepath.Join(dir, "arp-*.pcapng.part"))
	return sealed, parts
}

// TestRecordsARPOnly: arpbox run on a veth keeps the ARP that crosses it and
// nothing else, in segments tshark reads, and seals them on SIGTERM.
func TestRecordsARPOnly(t *testing.T) {
	nstest.RequireRoot(t, "tshark", "capinfos", "arping", "ping")
	gw, peer := nstest.NewHost(t, "gw"), nstest.NewHost(t, "pe")
	lg, lp := nstest.Veth(t, gw, "10.208.1.1/24", peer, "10.208.1.2/24")
	dir := t.TempDir()
	cfg := writeConfig(t, fmt.Sprintf(`
capture:
  interfaces: [%s]
ring:
  dir: %s/ring
  segment_size: 64KiB
  segment_duration: 2s
  max_size: 16MiB
snapshots:
  dir: %s/snapshots
control:
  socket: %s/arpbox.sock
`, lg.Name, dir, dir, dir))
	d := startDaemon(t, gw, cfg)
	if !d.waitLog("arpbox recording", 20*time.Second) {
		t.Fatal("arpbox did not start recording")
	}
	time.Sleep(300 * time.Millisecond)
	// 5 ARP requests answered by the peer (10 frames), plus IPv4 traffic that must not be kept.
	peer.MustRun("arping", "-c", "5", "-W", "0.2", "-i", lp.Name, lg.Addr().String())
	peer.MustRun("ping", "-c", "5", "-i", "0.2", "-n", lg.Addr().String())
	time.Sleep(2500 * time.Millisecond) // past one age rotation with no traffic
	if err := d.stop(); err != nil {
		t.Fatalf("arpbox exit: %v", err)
	}
	sealed, parts := ringFiles(t, dir+"/ring")
	if len(parts) != 0 {
		t.Errorf("segments left unsealed after SIGTERM: %v", parts)
	}
	if len(sealed) < 2 {
		t.Errorf("want at least 2 segments (2s age rotation over ~5s), got %d: %v", len(sealed), sealed)
	}
	arp, total, replies := 0, 0, 0
	for _, f := range sealed {
		n := capinfosCount(t, f)
		total += n
		frames := readFrames(t, f)
		if len(frames) != n {
			t.Errorf("%s: tshark reads %d frames, capinfos counts %d", f, len(frames), n)
		}
		for _, fr := range frames {
			switch {
			case !fr.isARP():
				t.Errorf("%s frame %d is not ARP: %s", f, fr.No, fr.Protos)
			case fr.Op == 2 && fr.SPA == lg.Addr().String() && fr.EthSrc == lg.MAC.String():
				replies++
				arp++
			default:
				arp++
			}
		}
	}
	if arp < 10 {
		t.Errorf("ring holds %d ARP frames, want at least the 10 arping exchanged", arp)
	}
	if replies < 5 {
		t.Errorf("ring holds %d ARP replies from %s, want 5", replies, lg.Addr())
	}
	t.Logf("%d segments, %d frames, all ARP", len(sealed), total)
}

// TestKill9ThenRestart: after kill -9 the ring is repaired on the next start
// and every file opens in capinfos.
func TestKill9ThenRestart(t *testing.T) {
	nstest.RequireRoot(t, "capinfos", "arping")
	gw, peer := nstest.NewHost(t, "gw"), nstest.NewHost(t, "pe")
	lg, lp := nstest.Veth(t, gw, "10.208.2.1/24", peer, "10.208.2.2/24")
	dir := t.TempDir()
	cfg := writeConfig(t, fmt.Sprintf(`
capture:
  interfaces: [%s]
ring:
  dir: %s/ring
  segment_size: 64KiB
  max_size: 16MiB
snapshots:
  dir: %s/snapshots
control:
  socket: %s/arpbox.sock
`, lg.Name, dir, dir, dir))
	for round := 0; round < 3; round++ {
		d := startDaemon(t, gw, cfg)
		if !d.waitLog("arpbox recording", 20*time.Second) {
			t.Fatal("arpbox did not start recording")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		ar := peer.Command(ctx, "arping", "-c", "2000", "-W", "0.002", "-i", lp.Name, lg.Addr().String())
		_ = ar.Start()
		// Past the ring's 1 s flush: what a kill -9 may lose is the last second.
		time.Sleep(time.Duration(1500+300*round) * time.Millisecond)
		d.kill9()
		_ = ar.Wait()
		cancel()
	}
	d := startDaemon(t, gw, cfg)
	if !d.waitLog("arpbox recording", 20*time.Second) {
		t.Fatal("arpbox did not restart")
	}
	if err := d.stop(); err != nil {
		t.Fatalf("arpbox exit: %v", err)
	}
	sealed, parts := ringFiles(t, dir+"/ring")
	if len(parts) != 0 {
		t.Errorf("unsealed segments after restart and clean stop: %v", parts)
	}
	total := 0
	for _, f := range sealed {
		total += capinfosCount(t, f)
	}
	if total == 0 {
		t.Errorf("no packets survived three kill -9s in %d segments", len(sealed))
	}
	t.Logf("%d segments, %d packets after 3× kill -9", len(sealed), total)
}

func hasTool(name string) bool {
	_, err := exec.LookPath(name)
	return err == nil
}

// TestInterfaceRecreated: the capture interface vanishes and comes back
// (a new ifindex) while arpbox runs; arpbox keeps going and records ARP
// from the new interface.
func TestInterfaceRecreated(t *testing.T) {
	nstest.RequireRoot(t, "capinfos", "tshark", "arping")
	gw, peer := nstest.NewHost(t, "gw"), nstest.NewHost(t, "pe")
	lg, lp := nstest.Veth(t, gw, "10.208.5.1/24", peer, "10.208.5.2/24")
	dir := t.TempDir()
	cfg := writeConfig(t, fmt.Sprintf(`
capture:
  interfaces: [%[1]s]
ring:
  dir: %[2]s/ring
snapshots:
  dir: %[2]s/snapshots
control:
  socket: %[2]s/arpbox.sock
`, lg.Name, dir))
	d := startDaemon(t, gw, cfg)
	if !d.waitLog("arpbox recording", 20*time.Second) {
		t.Fatal("arpbox did not start recording")
	}
	time.Sleep(300 * time.Millisecond)
	peer.MustRun("arping", "-c", "3", "-W", "0.1", "-i", lp.Name, "-S", "10.208.5.22", lg.Addr().String())
	gw.MustRun("ip", "link", "del", lg.Name)
	time.Sleep(1500 * time.Millisecond) // arpbox sees the link gone
	gw.MustRun("ip", "link", "add", lg.Name, "type", "veth", "peer", "name", lp.Name, "netns", peer.NS)
	gw.MustRun("ip", "addr", "add", "10.208.5.1/24", "dev", lg.Name)
	gw.MustRun("ip", "link", "set", lg.Name, "up")
	peer.MustRun("ip", "addr", "add", "10.208.5.2/24", "dev", lp.Name)
	peer.MustRun("ip", "link", "set", lp.Name, "up")
	// Reopen backs off up to a few seconds: keep asking until it's back.
	found := false
	for i := 0; i < 20 && !found; i++ {
		peer.MustRun("arping", "-c", "1", "-i", lp.Name, "-S", "10.208.5.99", lg.Addr().String())
		time.Sleep(500 * time.Millisecond)
		found = strings.Contains(d.log(), "interface back")
	}
	peer.MustRun("arping", "-c", "3", "-W", "0.1", "-i", lp.Name, "-S", "10.208.5.99", lg.Addr().String())
	time.Sleep(1500 * time.Millisecond)
	if err := d.stop(); err != nil {
		t.Fatalf("arpbox exit: %v", err)
	}
	sealed, _ := ringFiles(t, dir+"/ring")
	before, after := 0, 0
	for _, f := range sealed {
		for _, fr := range readFrames(t, f) {
			switch {
			case fr.Op == 1 && fr.SPA == "10.208.5.22":
				before++
			case fr.Op == 1 && fr.SPA == "10.208.5.99":
				after++
			}
		}
	}
	if before == 0 {
		t.Errorf("no ARP recorded before the interface was deleted")
	}
	if after == 0 {
		t.Errorf("no ARP recorded after the interface was recreated")
	}
	t.Logf("requests before deletion: %d, after recreation: %d", before, after)
}
