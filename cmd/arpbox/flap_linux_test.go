package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/arpbox/arpbox/internal/nstest"
)

// TestLinkFlapAgainstTcpdump: the capture link flaps three times under a
// steady ARP stream (200 frames/s); arpbox and tcpdump capture the same
// veth in the same run, and arpbox keeps at least what tcpdump keeps
// (within a frame per flap: both keep their socket across the flap).
func TestLinkFlapAgainstTcpdump(t *testing.T) {
	nstest.RequireRoot(t, "tshark", "tcpdump")
	gw, peer := nstest.NewHost(t, "gw"), nstest.NewHost(t, "pe")
	lg, lp := nstest.Veth(t, gw, "", peer, "")
	dir := t.TempDir()
	d := startRecorder(t, gw, lg.Name, dir, recorderOpts{})
	if !d.waitLog("capture: started", 20*time.Second) {
		t.Fatal("arpbox did not start capturing")
	}
	pcap := filepath.Join(dir, "tcpdump.pcap")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	td := gw.Command(ctx, "tcpdump", "-i", lg.Name, "-n", "-U", "-w", pcap, "arp")
	tdLog := &lockedLog{}
	td.Stdout, td.Stderr = tdLog, tdLog
	if err := td.Start(); err != nil {
		t.Fatal(err)
	}
	tdDone := make(chan error, 1)
	go func() { tdDone <- td.Wait() }()
	time.Sleep(time.Second) // tcpdump listening

	stream := startARPStream(t, peer, lp.Name, lp.MAC, "10.250.255.1", 5*time.Millisecond)
	const flaps = 3
	for i := range flaps {
		time.Sleep(2 * time.Second)
		gw.MustRun("ip", "link", "set", lg.Name, "down")
		time.Sleep(time.Duration(1500+400*i) * time.Millisecond)
		gw.MustRun("ip", "link", "set", lg.Name, "up")
	}
	time.Sleep(2 * time.Second)
	sent := stream.halt()
	time.Sleep(1500 * time.Millisecond)

	_ = td.Process.Signal(syscall.SIGINT)
	select {
	case err := <-tdDone:
		if err != nil {
			t.Logf("tcpdump: %v", err)
		}
	case <-time.After(10 * time.Second):
		_ = td.Process.Kill()
		t.Fatal("tcpdump did not stop")
	}
	if err := d.stop(); err != nil {
		t.Fatalf("arpbox exit: %v", err)
	}

	recorded, dups := streamRecorded(t, dir+"/ring", "10.250.255.1")
	dumped := map[string]bool{}
	for _, fr := range readFrames(t, pcap) {
		if fr.Op == 1 && fr.SPA == "10.250.255.1" {
			dumped[fr.TPA] = true
		}
	}
	onlyTcpdump := 0
	for tpa := range dumped {
		if !recorded[tpa] {
			onlyTcpdump++
		}
	}
	t.Logf("sent %d (%d refused by a down link); tcpdump kept %d, arpbox kept %d (%d duplicates); %d only in tcpdump's file; tcpdump said: %s",
		sent, stream.failed.Load(), len(dumped), len(recorded), dups, onlyTcpdump, strings.TrimSpace(tdLog.String()))
	if len(recorded)+flaps < len(dumped) {
		t.Errorf("arpbox kept %d frames across %d link flaps, tcpdump %d: want at least tcpdump's, within %d", len(recorded), flaps, len(dumped), flaps)
	}
	if len(dumped) == 0 {
		t.Error("tcpdump kept nothing: no comparison")
	}
	if dups > 0 {
		t.Errorf("%d frames recorded twice", dups)
	}
}

// lockedLog collects a command's output.
type lockedLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
