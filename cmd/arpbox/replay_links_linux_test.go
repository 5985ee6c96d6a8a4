package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arpbox/arpbox/internal/nstest"
	"github.com/arpbox/arpbox/internal/pcapng"
	"github.com/arpbox/arpbox/ring"
)

// TestReplayRealCaptures replays captures that dumpcap and tcpdump made of
// arping's ARP (pcapng on Ethernet; Linux cooked SLL and SLL2 from "any"):
// the ring holds every ARP frame with the original link type, keeps what
// the capture said about the interface and the host, and is named on the
// packets' clock; tshark and capinfos read it.
func TestReplayRealCaptures(t *testing.T) {
	nstest.RequireRoot(t, "tshark", "capinfos", "arping", "dumpcap", "tcpdump")
	a, b := nstest.NewHost(t, "ra"), nstest.NewHost(t, "rb")
	la, lb := nstest.Veth(t, a, "10.209.1.1/24", b, "10.209.1.2/24")
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	type capt struct {
		file, encap, ready string
		argv               []string
	}
	caps := []capt{
		{"dumpcap.pcapng", "Ethernet", "Capturing on", []string{"dumpcap", "-q", "-i", la.Name, "-f", "arp", "-c", "6", "-w", filepath.Join(dir, "dumpcap.pcapng")}},
		{"sll.pcap", "Linux cooked-mode capture v1", "listening on", []string{"tcpdump", "-i", "any", "-y", "LINUX_SLL", "-c", "6", "-w", filepath.Join(dir, "sll.pcap"), "arp"}},
		{"sll2.pcap", "Linux cooked-mode capture v2", "listening on", []string{"tcpdump", "-i", "any", "-y", "LINUX_SLL2", "-c", "6", "-w", filepath.Join(dir, "sll2.pcap"), "arp"}},
	}
	var cmds []*exec.Cmd
	var logs []*lockedBuffer
	for _, c := range caps {
		cmd := a.Command(ctx, c.argv...)
		log := &lockedBuffer{}
		cmd.Stderr = log
		if err := cmd.Start(); err != nil {
			t.Fatalf("%s: %v", c.argv[0], err)
		}
		cmds, logs = append(cmds, cmd), append(logs, log)
	}
	for i, c := range caps {
		for deadline := time.Now().Add(20 * time.Second); !strings.Contains(logs[i].String(), c.ready); {
			if time.Now().After(deadline) {
				t.Fatalf("%s did not start: %s", c.argv[0], logs[i].String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	a.MustRun("arping", "-c", "3", "-w", "10", "-I", la.Name, lb.Addr().String())
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("%s: %v\n%s", caps[i].argv[0], err, logs[i].String())
		}
	}

	for _, c := range caps {
		t.Run(c.file, func(t *testing.T) {
			in := filepath.Join(dir, c.file)
			orig := readAll(t, in)
			if len(orig.times) != 6 {
				t.Fatalf("%s holds %d frames, want arping's 6", c.file, len(orig.times))
			}
			ringDir := filepath.Join(t.TempDir(), "ring")
			cfg := writeConfig(t, fmt.Sprintf("ring:\n  dir: %s\ncontrol:\n  socket: %s/arpbox.sock\n", ringDir, t.TempDir()))
			var stdout, stderr bytes.Buffer
			if code := dispatch([]string{"run", "-config", cfg, "-replay", in}, &stdout, &stderr); code != 0 {
				t.Fatalf("arpbox run -replay %s: exit %d\n%s", c.file, code, stderr.String())
			}
			segs, err := ring.List(ringDir)
			if err != nil || len(segs) != 1 || segs[0].Current {
				t.Fatalf("ring: %+v, %v; want one sealed segment", segs, err)
			}
			seg := segs[0]
			// Named on the packets' clock, not the wall clock.
			first, last := orig.times[0].UTC().Truncate(time.Millisecond), orig.times[len(orig.times)-1].UTC().Truncate(time.Millisecond)
			if !seg.Start.Equal(first) || !seg.End.Equal(last) {
				t.Errorf("segment %s: named [%v, %v], want the packets' [%v, %v]", filepath.Base(seg.Path), seg.Start, seg.End, first, last)
			}
			got := readAll(t, seg.Path)
			if fmt.Sprint(got.times) != fmt.Sprint(orig.times) {
				t.Errorf("ring frames at %v, want %v", got.times, orig.times)
			}
			wantName := orig.ifc.Name
			if strings.HasSuffix(c.file, ".pcap") {
				wantName = c.file // a pcap names no interface: replay names it after the file
			}
			if got.ifc.LinkType != orig.ifc.LinkType || got.ifc.OS != orig.ifc.OS || got.ifc.Name != wantName || got.ifc.Description != orig.ifc.Description {
				t.Errorf("ring interface %+v, want the capture's %+v", got.ifc, orig.ifc)
			}
			// Where the capture was made: what it says, not this host (a
			// pcap says nothing).
			if got.sec.Hardware != orig.sec.Hardware || got.sec.OS != orig.sec.OS {
				t.Errorf("ring section says hardware %q, os %q; the capture %q, %q", got.sec.Hardware, got.sec.OS, orig.sec.Hardware, orig.sec.OS)
			}
			// tshark and capinfos read the ring as they read the capture.
			if n := capinfosCount(t, seg.Path); n != 6 {
				t.Errorf("capinfos counts %d frames in the ring, want 6", n)
			}
			out, err := exec.Command("capinfos", "-E", "-I", seg.Path).CombinedOutput()
			if err != nil || !strings.Contains(string(out), c.encap) {
				t.Errorf("capinfos -E: %v, want %q:\n%s", err, c.encap, out)
			}
			if orig.ifc.OS != "" && !strings.Contains(string(out), "Operating system = "+orig.ifc.OS+"\n") {
				t.Errorf("capinfos does not show the capture's if_os %q:\n%s", orig.ifc.OS, out)
			}
			var arp int
			for _, f := range readFrames(t, seg.Path) {
				if f.isARP() {
					arp++
				}
			}
			if arp != 6 {
				t.Errorf("tshark decodes %d ARP frames in the ring, want 6", arp)
			}
		})
	}
}

// lockedBuffer is a bytes.Buffer a command writes while the test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type captureFile struct {
	sec   pcapng.Section
	ifc   pcapng.Interface
	times []time.Time
}

// readAll reads a capture's frames' times and its first section and
// interface with internal/pcapng.
func readAll(t *testing.T, path string) captureFile {
	t.Helper()
	r, err := pcapng.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var c captureFile
	var p pcapng.Packet
	for r.Next(&p) == nil {
		c.times = append(c.times, time.Unix(0, p.Timestamp))
	}
	c.sec, c.ifc = r.Section(), r.Interfaces()[0]
	return c
}
