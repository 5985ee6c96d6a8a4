package main

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/arpbox/arpbox/internal/nstest"
)

// TestTwoInterfacesInTimeOrder: arpbox recording two interfaces, each with
// a peer that ARPs for it twenty times a second, writes segments whose
// frames are in time order (the kernel hands each interface's frames over
// in its own blocks, up to a second apart): capinfos finds them in strict
// time order and tshark reads every frame. A bundle taken meanwhile has
// statistics blocks that cover its frames: isb_ifrecv at least tshark's
// count of each interface's frames, the span around capinfos's first and
// last.
func TestTwoInterfacesInTimeOrder(t *testing.T) {
	nstest.RequireRoot(t, "tshark", "capinfos", "arping")
	gw, p1, p2 := nstest.NewHost(t, "gw"), nstest.NewHost(t, "p1"), nstest.NewHost(t, "p2")
	l1, r1 := nstest.Veth(t, gw, "10.210.1.1/24", p1, "10.210.1.2/24")
	l2, r2 := nstest.Veth(t, gw, "10.210.2.1/24", p2, "10.210.2.2/24")
	dir := t.TempDir()
	d := startRecorder(t, gw, l1.Name+", "+l2.Name, dir, recorderOpts{ring: "segment_size: 1MiB\nsegment_duration: 2s\nmax_size: 16MiB",
		snapshots: "before: 30s\nafter: 1s"})
	time.Sleep(500 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, x := range []struct {
		h    *nstest.Host
		link string
		dst  string
	}{{p1, r1.Name, l1.Addr().String()}, {p2, r2.Name, l2.Addr().String()}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = x.h.Command(ctx, "arping", "-c", "80", "-W", "0.05", "-i", x.link, x.dst).Run()
		}()
	}
	time.Sleep(2 * time.Second)
	out, err := gw.Command(ctx, binPath, "snapshot", "-socket", dir+"/arpbox.sock", "-reason", "mid-traffic").Output()
	if err != nil {
		t.Fatalf("arpbox snapshot: %v", err)
	}
	bundleCapture := filepath.Join(strings.Fields(string(out))[0], "capture.pcapng.gz")
	wg.Wait()
	time.Sleep(300 * time.Millisecond)
	if err := d.stop(); err != nil {
		t.Fatalf("arpbox exit: %v", err)
	}
	sealed, parts := ringFiles(t, dir+"/ring")
	if len(parts) != 0 || len(sealed) < 2 {
		t.Fatalf("ring: sealed %v, parts %v; want 2 or more sealed segments", sealed, parts)
	}
	total := 0
	for _, f := range sealed {
		out, err := exec.Command("capinfos", "-o", "-c", "-M", f).CombinedOutput()
		if err != nil {
			t.Fatalf("capinfos %s: %v\n%s", f, err, out)
		}
		if !strings.Contains(string(out), "Strict time order:   True") {
			t.Errorf("%s is not in time order:\n%s", f, out)
		}
		total += len(readFrames(t, f))
	}
	// 80 requests and 80 replies on each interface, give or take the
	// first and last.
	if total < 300 {
		t.Errorf("ring holds %d frames, want about 320", total)
	}
	t.Logf("%d segments, %d frames", len(sealed), total)

	isbs := bundleISBs(t, bundleCapture)
	perIface := map[string]uint64{}
	for _, l := range tsharkFields(t, bundleCapture, "frame.interface_name") {
		perIface[l]++
	}
	out, err = exec.Command("capinfos", "-a", "-e", "-T", "-r", "-S", bundleCapture).Output()
	if err != nil {
		t.Fatalf("capinfos: %v", err)
	}
	f := strings.Fields(string(out))
	first, _ := strconv.ParseFloat(f[len(f)-2], 64)
	last, _ := strconv.ParseFloat(f[len(f)-1], 64)
	for _, name := range []string{l1.Name, l2.Name} {
		s, ok := isbs[name]
		if !ok || perIface[name] == 0 {
			t.Errorf("bundle: no statistics (%v) or no frames (%d) for %s", ok, perIface[name], name)
			continue
		}
		if s.PacketsReceived == pcapgo.NgNoValue64 || s.PacketsReceived < perIface[name] {
			t.Errorf("%s: isb_ifrecv %d, tshark counts %d frames", name, s.PacketsReceived, perIface[name])
		}
		if float64(s.StartTime.UnixNano())/1e9 > first || float64(s.EndTime.UnixNano())/1e9 < last {
			t.Errorf("%s: statistics cover [%v, %v], the capture [%.6f, %.6f]", name, s.StartTime, s.EndTime, first, last)
		}
		t.Logf("%s: %d frames in the bundle, isb_ifrecv %d, isb_ifdrop %d, [%v, %v]", name, perIface[name], s.PacketsReceived, s.PacketsDropped, s.StartTime, s.EndTime)
	}
}

// bundleISBs reads a bundle capture's last statistics block per interface
// name with gopacket's reader.
func bundleISBs(t *testing.T, path string) map[string]pcapgo.NgInterfaceStatistics {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	zr, err := gzip.NewReader(fh)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]pcapgo.NgInterfaceStatistics{}
	r, err := pcapgo.NewNgReader(zr, pcapgo.NgReaderOptions{StatisticsCallback: func(id int, st pcapgo.NgInterfaceStatistics) { got[id] = st }})
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, _, err := r.ReadPacketData(); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			break
		}
	}
	out := map[string]pcapgo.NgInterfaceStatistics{}
	for id, st := range got {
		in, _ := r.Interface(id)
		out[in.Name] = st
	}
	return out
}

// tsharkFields returns one field of every frame, as tshark prints it.
func tsharkFields(t *testing.T, path, field string) []string {
	t.Helper()
	out, err := exec.Command("tshark", "-r", path, "-T", "fields", "-e", field).Output()
	if err != nil {
		t.Fatalf("tshark -r %s: %v", path, err)
	}
	return strings.Fields(string(out))
}
