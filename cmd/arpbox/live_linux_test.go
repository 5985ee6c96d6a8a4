package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/arpbox/arpbox/capture"
	"github.com/arpbox/arpbox/internal/nstest"
)

// TestRecordsARPOnly: arpbox run on a veth keeps the ARP that crosses it and
// nothing else, in segments tshark reads, and seals them on SIGTERM.
func TestRecordsARPOnly(t *testing.T) {
	nstest.RequireRoot(t, "tshark", "capinfos", "arping", "ping")
	gw, peer := nstest.NewHost(t, "gw"), nstest.NewHost(t, "pe")
	lg, lp := nstest.Veth(t, gw, "10.208.1.1/24", peer, "10.208.1.2/24")
	dir := t.TempDir()
	d := startRecorder(t, gw, lg.Name, dir, recorderOpts{ring: "segment_size: 64KiB\nsegment_duration: 2s\nmax_size: 16MiB"})
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
	opts := recorderOpts{ring: "segment_size: 64KiB\nmax_size: 16MiB"}
	for round := 0; round < 3; round++ {
		d := startRecorder(t, gw, lg.Name, dir, opts)
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		ar := peer.Command(ctx, "arping", "-c", "3000", "-W", "0.002", "-i", lp.Name, lg.Addr().String())
		_ = ar.Start()
		// Past the kernel's block timeout (a block of this stream fills
		// in about 5 s) and the ring's flush: what a kill -9 may lose is
		// the last capture.MaxHold or so.
		time.Sleep(capture.MaxHold + time.Duration(1000+300*round)*time.Millisecond)
		d.kill9()
		_ = ar.Wait()
		cancel()
	}
	d := startRecorder(t, gw, lg.Name, dir, opts)
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

// TestInterfaceRecreated: the capture interface vanishes and comes back
// (a new ifindex) while arpbox runs; arpbox keeps going and records ARP
// from the new interface.
func TestInterfaceRecreated(t *testing.T) {
	nstest.RequireRoot(t, "capinfos", "tshark", "arping")
	gw, peer := nstest.NewHost(t, "gw"), nstest.NewHost(t, "pe")
	lg, lp := nstest.Veth(t, gw, "10.208.5.1/24", peer, "10.208.5.2/24")
	dir := t.TempDir()
	d := startRecorder(t, gw, lg.Name, dir, recorderOpts{})
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
