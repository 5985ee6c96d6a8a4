package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arpbox/arpbox/internal/nstest"
)

// ringStatus is the part of `arpbox status` this test reads.
type ringStatus struct {
	Ring struct {
		PacketsWritten uint64
		DirRecreated   uint64
		Current        string
	} `json:"ring"`
}

func statusOf(t *testing.T, socket string) (ringStatus, error) {
	t.Helper()
	var st ringStatus
	out, err := exec.Command(binPath, "status", "-socket", socket).Output()
	if err != nil {
		return st, err
	}
	return st, json.Unmarshal(out, &st)
}

// TestRingDirRemovedLive removes the ring directory of a running arpbox
// (rm -rf) under a steady ARP stream. Recording resumes within seconds in
// a recreated directory, `status` names the new segment and counts the
// recreation, and a second arpbox can neither take the recreated ring nor
// share the first one's snapshots.dir.
func TestRingDirRemovedLive(t *testing.T) {
	nstest.RequireRoot(t, "capinfos", "arping")
	gw, peer := nstest.NewHost(t, "gw"), nstest.NewHost(t, "pe")
	lg, lp := nstest.Veth(t, gw, "10.208.9.1/24", peer, "10.208.9.2/24")
	dir := t.TempDir()
	d := startRecorder(t, gw, lg.Name, dir, recorderOpts{ring: "segment_size: 64KiB\nmax_size: 16MiB"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ar := peer.Command(ctx, "arping", "-c", "100000", "-W", "0.01", "-i", lp.Name, lg.Addr().String())
	if err := ar.Start(); err != nil {
		t.Fatal(err)
	}
	defer ar.Wait()
	socket := dir + "/arpbox.sock"
	time.Sleep(2 * time.Second)
	before, err := statusOf(t, socket)
	if err != nil || before.Ring.Current == "" {
		t.Fatalf("status before: %+v, %v", before, err)
	}
	if err := os.RemoveAll(dir + "/ring"); err != nil {
		t.Fatal(err)
	}
	removed := time.Now()
	var st ringStatus
	for time.Since(removed) < 15*time.Second {
		st, err = statusOf(t, socket)
		if err == nil && st.Ring.DirRecreated == 1 && st.Ring.Current != before.Ring.Current {
			if _, err := os.Stat(filepath.Join(dir, "ring", st.Ring.Current)); err == nil {
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	took := time.Since(removed)
	if st.Ring.DirRecreated != 1 {
		t.Fatalf("status %+v %d s after rm -rf: want the recreation counted and a new segment\n%s", st, int(took.Seconds()), d.log())
	}
	t.Logf("status names the new segment %s %v after rm -rf (at %s)", st.Ring.Current, took.Round(10*time.Millisecond), removed.UTC().Format("15:04:05.000"))
	for _, l := range strings.Split(d.log(), "\n") {
		if strings.Contains(l, "ring directory was removed") {
			t.Log(l)
			// The current segment, unlinked but open, is saved into
			// the new directory.
			if !strings.Contains(l, "lost_packets=0") {
				t.Errorf("frames of the current segment lost: %s", l)
			}
		}
	}
	if took > 5*time.Second {
		t.Errorf("recording resumed only %v after rm -rf", took)
	}

	// A second arpbox on the recreated ring is refused; so is one with
	// its own ring but the first one's snapshots.dir.
	for _, tc := range []struct{ name, ring, snaps, want string }{
		{"same ring", dir + "/ring", t.TempDir(), "in use by another process"},
		{"same snapshots.dir", t.TempDir() + "/ring", dir + "/snapshots", "snapshots.dir " + dir + "/snapshots is used by another arpbox"},
	} {
		cfg := writeConfig(t, fmt.Sprintf("capture:\n  interfaces: [%s]\nring:\n  dir: %s\nsnapshots:\n  dir: %s\ncontrol:\n  socket: %s/second.sock\n",
			lg.Name, tc.ring, tc.snaps, t.TempDir()))
		cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := gw.Command(cctx, binPath, "run", "-config", cfg).CombinedOutput()
		ccancel()
		if err == nil || !strings.Contains(string(out), "could not start") || !strings.Contains(string(out), tc.want) {
			t.Errorf("second arpbox (%s): %v, want it refused with %q:\n%s", tc.name, err, tc.want, out)
		}
	}

	time.Sleep(2 * time.Second)
	cancel()
	if err := d.stop(); err != nil {
		t.Fatalf("arpbox exit: %v", err)
	}
	if n := strings.Count(d.log(), "ring directory was removed"); n != 1 {
		t.Errorf("the removal was logged %d times, want once", n)
	}
	sealed, _ := ringFiles(t, dir+"/ring")
	total := 0
	for _, f := range sealed {
		total += capinfosCount(t, f)
	}
	if total < 100 {
		t.Errorf("only %d frames recorded in the recreated ring (%d segments)", total, len(sealed))
	}
	t.Logf("%d frames in %d segments of the recreated ring", total, len(sealed))
}
