package capture

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arpbox/arpbox/internal/nstest"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/arp-tcpdump.pcap from a fresh tcpdump capture")

// Live and tcpdump capture the same traffic side by side; Live must deliver
// exactly tcpdump's ARP frames, bytes, lengths and kernel timestamps. The
// tcpdump file, replayed, gives the same frames again.
func TestLiveAgainstTcpdump(t *testing.T) {
	nstest.RequireRoot(t, "tcpdump", "arping", "ping")
	ha, hb := nstest.NewHost(t, "ca"), nstest.NewHost(t, "cb")
	la, lb := nstest.Veth(t, ha, "10.201.9.1/24", hb, "10.201.9.2/24")
	dir := t.TempDir()
	pcap := filepath.Join(dir, "tcpdump.pcap")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	td := hb.Command(ctx, "tcpdump", "-i", lb.Name, "-w", pcap, "-Z", "root", "-U", "-s", "262144",
		"--time-stamp-precision=nano", "-n")
	stderr := &lockedBuf{}
	td.Stderr = stderr
	if err := td.Start(); err != nil {
		t.Fatal(err)
	}
	logs := newLogWatch(t)
	l := NewLive(LiveConfig{Iface: lb.Name}, slog.New(logs))
	out, stop := liveRun(t, hb, l, 64)
	logs.wait("capture: started")
	for i := 0; i < 50 && !strings.Contains(stderr.String(), "listening on"); i++ {
		time.Sleep(20 * time.Millisecond)
	}

	ha.MustRun("arping", "-c", "3", "-w", "0.1", "-i", la.Name, lb.Addr().String())
	ha.MustRun("ping", "-c", "2", "-i", "0.2", "-W", "1", lb.Addr().String())
	tagged := arpFrame(tagQ)
	copy(tagged[6:12], la.MAC)
	sendRaw(t, ha, la.Name, tagged, 2)
	hb.Run("ping", "-6", "-c", "1", "-W", "1", "ff02::1%"+lb.Name) // NDP and echo, not ARP
	time.Sleep(300 * time.Millisecond)

	// The last frames may wait in the kernel's block for blockTimeout.
	got := collect(t, out, blockTimeout+time.Second, func(f []Frame) bool { return false })
	if err, _ := stop(); err != nil {
		t.Fatal(err)
	}
	// tcpdump writes on SIGINT and exits.
	td.Process.Signal(os.Interrupt)
	td.Wait()
	t.Logf("tcpdump: %s", strings.TrimSpace(stderr.String()))

	want, err := replay(t, pcap, mustParse(t, "arp"))
	if err != nil {
		t.Fatalf("replaying tcpdump's file: %v", err)
	}
	all, _ := replay(t, pcap, Filter{})
	if len(want) < 5 || len(all) <= len(want) {
		t.Fatalf("tcpdump file has %d ARP frames of %d, want at least 5 and some others", len(want), len(all))
	}
	var gotR []replayed
	for _, f := range got {
		gotR = append(gotR, replayed{0, f.Time.UTC(), f.Length, f.Data})
	}
	if diff := cmp.Diff(want, gotR); diff != "" {
		t.Errorf("Live frames differ from tcpdump's ARP frames (-tcpdump +live):\n%s", diff)
	}
	if *update {
		b, err := os.ReadFile(pcap)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("testdata", "arp-tcpdump.pcap"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// lockedBuf collects a command's output while the test reads it.
type lockedBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
