package snapshot

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/arpbox/arpbox/bundle"
	"github.com/arpbox/arpbox/internal/wine"
	"github.com/arpbox/arpbox/ring"
)

// buildJitterRing writes 3 segments (0-60s, 60-120s sealed, 120-180s
// current) of packets every 100ms alternating eth0/eth1, where eth1's
// timestamps lag 400ms behind the write order (as two interfaces' batches
// do). It returns the timestamp of every packet id.
func buildJitterRing(t *testing.T, dir string) map[uint32]time.Time {
	r := newTestRing(t, dir, []string{"eth0", "eth1"}, t0)
	ts := map[uint32]time.Time{}
	for i := range 1800 {
		switch i {
		case 600:
			r.drop(0, 7)
			r.rotate(at(60 * time.Second))
		case 1200:
			r.drop(0, 5)
			r.drop(1, 2)
			r.rotate(at(120 * time.Second))
		}
		iface := i % 2
		tm := at(time.Duration(i) * 100 * time.Millisecond)
		if iface == 1 {
			tm = tm.Add(-400 * time.Millisecond)
		}
		r.packet(iface, tm, uint32(i))
		ts[uint32(i)] = tm
	}
	r.flush()
	return ts
}

func wantIDs(ts map[uint32]time.Time, from, to time.Time) []uint32 {
	var ids []uint32
	for id, tm := range ts {
		if !tm.Before(from) && !tm.After(to) {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b uint32) int {
		if c := ts[a].Compare(ts[b]); c != 0 {
			return c
		}
		return int(a) - int(b)
	})
	return ids
}

func TestSnapshotBundle(t *testing.T) {
	ringDir := filepath.Join(t.TempDir(), "ring")
	ts := buildJitterRing(t, ringDir)
	snapDir := filepath.Join(t.TempDir(), "snapshots")
	cfg := testConfig(snapDir)
	cfg.Before, cfg.After = 30*time.Second, 50*time.Second
	T := at(100*time.Second + 50*time.Millisecond)
	ev := bundle.Event{Trigger: "web1", Check: "tcp", Target: "10.206.0.5:80", Reason: "3 consecutive failures: i/o timeout", Time: T}
	clk := &fakeClock{t: T}
	res := runSnapshot(t, cfg, ringDir, ev, Options{Now: clk.Now, Interfaces: []string{"eth0", "eth1"}, ConfigDigest: "sha256:abc"})
	if res.Err != nil {
		t.Fatalf("snapshot: %v", res.Err)
	}
	if got, want := filepath.Base(res.Dir), "20261126T010140Z-web1"; got != want {
		t.Errorf("bundle id = %q, want %q", got, want)
	}
	from, to := T.Add(-cfg.Before), T.Add(cfg.After)
	want := wantIDs(ts, from, to)

	// Read back with an independent pcapng reader.
	pkts, names, _ := readCapture(t, filepath.Join(res.Dir, captureName))
	if diff := cmp.Diff([]string{"eth0", "eth1"}, names); diff != "" {
		t.Errorf("interfaces (-want +got):\n%s", diff)
	}
	var got []uint32
	var comments []string
	for i, p := range pkts {
		got = append(got, p.ID)
		if i > 0 && p.TS.Before(pkts[i-1].TS) {
			t.Errorf("packet %d at %v is before packet %d at %v", i+1, p.TS, i, pkts[i-1].TS)
		}
		if p.Comment != "" {
			comments = append(comments, fmt.Sprintf("%d %s", p.ID, p.Comment))
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("packets in capture (-want +got):\n%s", diff)
	}
	firstAfter := uint32(0)
	for _, id := range want {
		if !ts[id].Before(T) {
			firstAfter = id
			break
		}
	}
	wantComment := fmt.Sprintf("%d arpbox trigger: web1 (tcp 10.206.0.5:80): 3 consecutive failures: i/o timeout", firstAfter)
	if diff := cmp.Diff([]string{wantComment}, comments); diff != "" {
		t.Errorf("packet comments (-want +got):\n%s", diff)
	}

	// The same, as tshark sees it.
	capPath := filepath.Join(res.Dir, captureName)
	lines := tshark(t, "-r", capPath, "-T", "fields", "-e", "frame.time_epoch", "-e", "frame.interface_name", "-e", "frame.comment")
	if len(lines) != len(want) {
		t.Fatalf("tshark counts %d packets, want %d", len(lines), len(want))
	}
	first := strings.Split(lines[0], "\t")
	last := strings.Split(lines[len(lines)-1], "\t")
	if diff := cmp.Diff(epoch(ts[want[0]]), first[0]); diff != "" {
		t.Errorf("tshark first packet time (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(epoch(ts[want[len(want)-1]]), last[0]); diff != "" {
		t.Errorf("tshark last packet time (-want +got):\n%s", diff)
	}
	ifaceSet := map[string]int{}
	for _, l := range lines {
		ifaceSet[strings.Split(l, "\t")[1]]++
	}
	if len(ifaceSet) != 2 || ifaceSet["eth0"] == 0 || ifaceSet["eth1"] == 0 {
		t.Errorf("tshark interface names: %v, want eth0 and eth1", ifaceSet)
	}
	cm := tshark(t, "-r", capPath, "-Y", "frame.comment", "-T", "fields", "-e", "frame.comment")
	if diff := cmp.Diff([]string{"arpbox trigger: web1 (tcp 10.206.0.5:80): 3 consecutive failures: i/o timeout"}, cm); diff != "" {
		t.Errorf("tshark frame.comment (-want +got):\n%s", diff)
	}
	if out, err := exec.Command("capinfos", capPath).CombinedOutput(); err == nil {
		for _, w := range []string{"arpbox incident snapshot", "T: " + T.Format(time.RFC3339Nano), "host: testhost", "the trigger comment is on packet"} {
			if !strings.Contains(string(out), w) {
				t.Errorf("capinfos output lacks %q:\n%s", w, out)
			}
		}
	}

	// Manifest: hashes match the files; window and counts.
	m, err := bundle.ReadManifestDir(res.Dir)
	if err != nil {
		t.Fatal(err)
	}
	checkFiles(t, res.Dir, m)
	if m.Capture.Packets != uint64(len(want)) || m.Window.FirstPacket == nil || !m.Window.FirstPacket.Equal(ts[want[0]]) {
		t.Errorf("manifest capture = %+v, first %v; want %d packets from %v", m.Capture, m.Window.FirstPacket, len(want), ts[want[0]])
	}
	if m.Window.ShortBy != "" {
		t.Errorf("window short_by = %q, want empty (the ring holds the window)", m.Window.ShortBy)
	}
	var segNames []uint64
	for _, s := range m.Segments {
		segNames = append(segNames, s.Seq)
	}
	if diff := cmp.Diff([]uint64{1, 2}, segNames); diff != "" {
		t.Errorf("segments used (-want +got):\n%s", diff)
	}
	type drops struct {
		Name, Kind string
		Dropped    uint64
	}
	var gotDrops []drops
	for _, in := range m.Interfaces {
		d := drops{Name: in.Name, Kind: in.DropsKind}
		if in.Dropped != nil {
			d.Dropped = *in.Dropped
		}
		gotDrops = append(gotDrops, d)
	}
	// Segment 1 is the last sealed one; segment 0 (before the window) is the baseline.
	if diff := cmp.Diff([]drops{{"eth0", "window", 5}, {"eth1", "window", 2}}, gotDrops); diff != "" {
		t.Errorf("drop counts (-want +got):\n%s", diff)
	}
	if m.ConfigDigest != "sha256:abc" || m.Trigger.Trigger != "web1" || !m.Trigger.Time.Equal(T) {
		t.Errorf("manifest header: digest %q trigger %+v", m.ConfigDigest, m.Trigger)
	}

	// The zip unpacks to the same files.
	checkZip(t, res.Dir, res.Zip)

	// No staging left behind.
	ents, _ := os.ReadDir(snapDir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") && e.Name() != lockName {
			t.Errorf("staging left in snapshots dir: %s", e.Name())
		}
	}

	infos, err := List(snapDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 1 || infos[0].Trigger != "web1" || infos[0].Path != res.Dir || infos[0].Zip != res.Zip || infos[0].Size == 0 || !infos[0].Time.Equal(T) {
		t.Errorf("List = %+v", infos)
	}
}

func epoch(t time.Time) string {
	return strconv.FormatInt(t.Unix(), 10) + "." + fmt.Sprintf("%09d", t.Nanosecond())
}

func checkFiles(t *testing.T, dir string, m *bundle.Manifest) {
	t.Helper()
	var want []bundle.ManifestFile
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.Name() == manifestName {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		want = append(want, bundle.ManifestFile{Name: e.Name(), Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:])})
	}
	if diff := cmp.Diff(want, m.Files); diff != "" {
		t.Errorf("manifest files (-want +got):\n%s", diff)
	}
}

func checkZip(t *testing.T, dir, zipPath string) {
	t.Helper()
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatalf("open zip: %v", err)
	}
	defer zr.Close()
	got := map[string][]byte{}
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/"+captureName) && f.Method != zip.Store {
			t.Errorf("zip entry %s: method %d, want %d (stored: the capture is compressed already)", f.Name, f.Method, zip.Store)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		got[f.Name] = b
	}
	id := filepath.Base(dir)
	ents, _ := os.ReadDir(dir)
	if len(ents) != len(got) {
		t.Errorf("zip holds %d files, bundle %d", len(got), len(ents))
	}
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		if !bytes.Equal(b, got[id+"/"+e.Name()]) {
			t.Errorf("zip entry %s/%s differs from the bundle file", id, e.Name())
		}
	}
}

// wineDeletePending is the Wine gap that stops tests freezing the ring's
// open segment: Wine unlinks a file deleted while open only when its last
// handle closes.
const wineDeletePending = "a hard link deleted while its file is open elsewhere keeps its name until that handle closes"

func TestWindowAtSegmentBoundaries(t *testing.T) {
	// Under Wine, a link deleted while the ring holds the file open keeps its
	// name until the ring closes it, so the freeze dir of the current
	// segment outlives the subtest and its temporary directory cannot go.
	wine.SkipIf(t, wineDeletePending)
	// Segments: 0 [0s,10s) 1 [10s,20s) 2 [20s,30s) sealed, 3 current from 30s.
	// One packet per interface every 500ms, exactly on the boundaries too.
	ringDir := filepath.Join(t.TempDir(), "ring")
	r := newTestRing(t, ringDir, []string{"eth0"}, t0)
	ts := map[uint32]time.Time{}
	for i := range 80 {
		if i > 0 && i%20 == 0 {
			r.rotate(at(time.Duration(i) * 500 * time.Millisecond))
		}
		tm := at(time.Duration(i) * 500 * time.Millisecond)
		r.packet(0, tm, uint32(i))
		ts[uint32(i)] = tm
	}
	r.flush()
	tests := []struct {
		name          string
		T             time.Time
		before, after time.Duration
		segs          []uint64
	}{
		{"window starts on a boundary", at(15 * time.Second), 5 * time.Second, 0, []uint64{0, 1}},
		{"window ends on a boundary", at(20 * time.Second), 5 * time.Second, 0, []uint64{1, 2}},
		{"inside one segment", at(15 * time.Second), 2 * time.Second, 2 * time.Second, []uint64{1}},
		{"across all", at(25 * time.Second), 25 * time.Second, 15 * time.Second, []uint64{0, 1, 2, 3}},
		{"after spills into the next", at(19 * time.Second), time.Second, 2 * time.Second, []uint64{1, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(filepath.Join(t.TempDir(), "snap"))
			cfg.Before, cfg.After = tc.before, tc.after
			res := runSnapshot(t, cfg, ringDir, bundle.Event{Trigger: "b", Check: "manual", Reason: "test", Time: tc.T}, Options{})
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			pkts, _, _ := readCapture(t, filepath.Join(res.Dir, captureName))
			var got []uint32
			for _, p := range pkts {
				got = append(got, p.ID)
			}
			if diff := cmp.Diff(wantIDs(ts, tc.T.Add(-tc.before), tc.T.Add(tc.after)), got); diff != "" {
				t.Errorf("packets (-want +got):\n%s", diff)
			}
			m, err := bundle.ReadManifestDir(res.Dir)
			if err != nil {
				t.Fatal(err)
			}
			// ring.Window is generous by its 1s timestamp slack; every segment
			// that holds window packets must be there, and no more than one extra.
			var seqs []uint64
			for _, s := range m.Segments {
				seqs = append(seqs, s.Seq)
			}
			for _, w := range tc.segs {
				if !slices.Contains(seqs, w) {
					t.Errorf("segments %v lack %d", seqs, w)
				}
			}
			if len(seqs) > len(tc.segs)+1 {
				t.Errorf("segments %v: more than one beyond %v", seqs, tc.segs)
			}
		})
	}
}

func TestNoPacketAfterT(t *testing.T) {
	ringDir := filepath.Join(t.TempDir(), "ring")
	r := newTestRing(t, ringDir, []string{"eth0"}, t0)
	defer r.w.Close() // Windows cannot remove the ring's lock file while it is open
	for i := range 10 {
		r.packet(0, at(time.Duration(i)*time.Second), uint32(i))
	}
	r.flush()
	cfg := testConfig(filepath.Join(t.TempDir(), "snap"))
	T := at(20 * time.Second)
	res := runSnapshot(t, cfg, ringDir, bundle.Event{Trigger: "gw", Check: "neighbor", Target: "10.206.0.1", Reason: "FAILED", Time: T}, Options{})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	m, err := bundle.ReadManifestDir(res.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Capture.TriggerPacket != 0 || !strings.Contains(m.Capture.TriggerNote, "no packet was captured at or after T") {
		t.Errorf("trigger packet %d, note %q", m.Capture.TriggerPacket, m.Capture.TriggerNote)
	}
	if out, err := exec.Command("capinfos", filepath.Join(res.Dir, captureName)).CombinedOutput(); err == nil {
		if !strings.Contains(string(out), "no packet was captured at or after T; the last packet before T is packet 10") {
			t.Errorf("section comment does not say there is no packet after T:\n%s", out)
		}
	}
	if cm := tshark(t, "-r", filepath.Join(res.Dir, captureName), "-Y", "frame.comment"); len(cm) != 0 {
		t.Errorf("packet comments: %q, want none", cm)
	}
}

func TestShortWindow(t *testing.T) {
	// The ring starts 4 minutes before T, but before is 10 minutes.
	ringDir := filepath.Join(t.TempDir(), "ring")
	r := newTestRing(t, ringDir, []string{"eth0"}, at(6*time.Minute))
	r.packet(0, at(6*time.Minute+time.Second), 1)
	r.flush()
	cfg := testConfig(filepath.Join(t.TempDir(), "snap"))
	res := runSnapshot(t, cfg, ringDir, bundle.Event{Trigger: "x", Check: "manual", Reason: "r", Time: at(10 * time.Minute)}, Options{})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	m, _ := bundle.ReadManifestDir(res.Dir)
	if m.Window.ShortBy != "6m0s" || m.Window.Note == "" {
		t.Errorf("short_by = %q note %q, want 6m0s with a note", m.Window.ShortBy, m.Window.Note)
	}
}

func TestTornPartTolerated(t *testing.T) {
	for _, tc := range []struct {
		name string
		tear func(t *testing.T, path string)
	}{
		{"cut mid-block", func(t *testing.T, path string) {
			// 30 bytes into the last packet, before the statistics block
			// the flush wrote after it.
			b, _ := os.ReadFile(path)
			isb := int64(binary.LittleEndian.Uint32(b[len(b)-4:]))
			if err := os.Truncate(path, int64(len(b))-isb-30); err != nil {
				t.Fatal(err)
			}
		}},
		{"garbage tail", func(t *testing.T, path string) {
			f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			f.Write([]byte{6, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 2, 3})
			f.Close()
		}},
		{"zero-filled tail", func(t *testing.T, path string) {
			f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			f.Write(make([]byte, 4096))
			f.Close()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ringDir := filepath.Join(t.TempDir(), "ring")
			r := newTestRing(t, ringDir, []string{"eth0"}, t0)
			defer r.w.Close() // Windows cannot remove the ring's lock file while it is open
			for i := range 20 {
				r.packet(0, at(time.Duration(i)*time.Second), uint32(i))
			}
			r.flush()
			segs, err := ring.List(ringDir)
			if err != nil || len(segs) != 1 || !segs[0].Current {
				t.Fatalf("ring: %v %+v, want one current segment", err, segs)
			}
			tc.tear(t, segs[0].Path)
			cfg := testConfig(filepath.Join(t.TempDir(), "snap"))
			res := runSnapshot(t, cfg, ringDir, bundle.Event{Trigger: "x", Check: "manual", Reason: "r", Time: at(10 * time.Second)}, Options{})
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			pkts, _, _ := readCapture(t, filepath.Join(res.Dir, captureName))
			wantN := 20
			if tc.name == "cut mid-block" {
				wantN = 19
			}
			if len(pkts) != wantN {
				t.Errorf("got %d packets, want %d", len(pkts), wantN)
			}
			m, _ := bundle.ReadManifestDir(res.Dir)
			if len(m.Capture.TornSegments) != 1 {
				t.Errorf("torn segments = %v, want the .part", m.Capture.TornSegments)
			}
			if n := len(tshark(t, "-r", filepath.Join(res.Dir, captureName))); n != wantN {
				t.Errorf("tshark reads %d packets, want %d", n, wantN)
			}
		})
	}
}

func TestCooldownAndBusy(t *testing.T) {
	ringDir := filepath.Join(t.TempDir(), "ring")
	r := newTestRing(t, ringDir, []string{"eth0"}, t0)
	r.packet(0, at(time.Second), 1)
	r.flush()
	clk := &fakeClock{t: at(10 * time.Second)}
	cfg := testConfig(filepath.Join(t.TempDir(), "snap"))
	cfg.Cooldown = time.Minute
	// Sleep blocks until released, so requests stay in flight.
	release := make(chan struct{})
	sleep := func(ctx context.Context, d time.Duration) error {
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s, stop := startSnapshotter(t, cfg, ringDir, Options{Now: clk.Now, Sleep: sleep})
	defer stop()
	ev := bundle.Event{Trigger: "a", Check: "manual", Reason: "r"}

	ch1, err := s.Request(ev)
	if err != nil {
		t.Fatalf("first request: %v", err)
	}
	clk.Set(at(30 * time.Second))
	_, err = s.Request(ev)
	var re *RefusedError
	if !errors.Is(err, ErrCooldown) || !errors.As(err, &re) || !re.Until.Equal(at(70*time.Second)) {
		t.Fatalf("second request during cooldown: %v, want ErrCooldown until %v", err, at(70*time.Second))
	}
	if !strings.Contains(err.Error(), "until 2026-11-26T01:01:10Z") {
		t.Errorf("cooldown error %q does not say until when", err)
	}
	clk.Set(at(71 * time.Second))
	ch2, err := s.Request(ev) // queued behind the first
	if err != nil {
		t.Fatalf("request after cooldown: %v", err)
	}
	clk.Set(at(200 * time.Second))
	if _, err := s.Request(ev); !errors.Is(err, ErrBusy) {
		t.Fatalf("third request with one running and one queued: %v, want ErrBusy", err)
	}
	close(release)
	for i, ch := range []<-chan Result{ch1, ch2} {
		res := <-ch
		if res.Err != nil {
			t.Errorf("result %d: %v", i+1, res.Err)
		}
	}
	infos, _ := List(cfg.Dir)
	if len(infos) != 2 {
		t.Errorf("bundles = %d, want 2", len(infos))
	}
}

func TestUnwritableDir(t *testing.T) {
	ringDir := filepath.Join(t.TempDir(), "ring")
	r := newTestRing(t, ringDir, []string{"eth0"}, t0)
	defer r.w.Close() // Windows cannot remove the ring's lock file while it is open
	r.packet(0, at(time.Second), 1)
	r.flush()
	// A regular file where the snapshots dir should be: even root cannot
	// create anything under it.
	blocker := filepath.Join(t.TempDir(), "file")
	os.WriteFile(blocker, []byte("x"), 0o644)
	cfg := testConfig(filepath.Join(blocker, "snapshots"))
	cfg.Cooldown = time.Hour
	s, stop := startSnapshotter(t, cfg, ringDir, Options{})
	defer stop()
	ch, err := s.Request(bundle.Event{Trigger: "x", Check: "manual", Reason: "r", Time: at(2 * time.Second)})
	if err != nil {
		t.Fatalf("Request: %v", err)
	}
	res := <-ch
	if res.Err == nil || !strings.Contains(res.Err.Error(), "create snapshots dir") || !strings.Contains(res.Err.Error(), "trigger x") {
		t.Fatalf("result error = %v, want a clear create-dir error naming the trigger", res.Err)
	}
	// The failed snapshot does not start a cooldown, and the ring is untouched.
	ch, err = s.Request(bundle.Event{Trigger: "x", Check: "manual", Reason: "again", Time: at(3 * time.Second)})
	if err != nil {
		t.Fatalf("retry refused: %v", err)
	}
	<-ch
	r.packet(0, at(4*time.Second), 2)
	r.flush()
}

func TestRetention(t *testing.T) {
	// Under Wine, a link deleted while the ring holds the file open keeps its
	// name until the ring closes it, so the freeze dir of the current
	// segment outlives the subtest and its temporary directory cannot go.
	wine.SkipIf(t, wineDeletePending)
	ringDir := filepath.Join(t.TempDir(), "ring")
	r := newTestRing(t, ringDir, []string{"eth0"}, t0)
	for i := range 2000 {
		r.packet(0, at(time.Duration(i)*10*time.Millisecond), uint32(i))
	}
	r.flush()
	tests := []struct {
		name     string
		maxCount int
		maxSize  func(one int64) int64
		want     []string
	}{
		{"by count", 2, func(int64) int64 { return 1 << 40 }, []string{"20261126T010013Z-t", "20261126T010014Z-t"}},
		{"by size", 50, func(one int64) int64 { return one*3 + one/2 }, []string{"20261126T010012Z-t", "20261126T010013Z-t", "20261126T010014Z-t"}},
		{"newest kept even if too big", 50, func(one int64) int64 { return one / 2 }, []string{"20261126T010014Z-t"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "snap")
			cfg := testConfig(dir)
			cfg.Before, cfg.After = 5*time.Second, 0
			// Measure one bundle first; all hold 500 packets.
			res := runSnapshot(t, cfg, ringDir, bundle.Event{Trigger: "t", Check: "manual", Reason: "r", Time: at(10 * time.Second)}, Options{})
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			infos, _ := List(dir)
			one := infos[0].Size
			os.RemoveAll(res.Dir)
			os.Remove(res.Zip)
			// (max_size below Validate's 1MiB minimum: bundles here are small)
			cfg.MaxCount, cfg.MaxSize = tc.maxCount, tc.maxSize(one)
			for i := range 5 {
				res := runSnapshot(t, cfg, ringDir, bundle.Event{Trigger: "t", Check: "manual", Reason: "r", Time: at(time.Duration(10+i) * time.Second)}, Options{})
				if res.Err != nil {
					t.Fatal(res.Err)
				}
			}
			infos, _ = List(dir)
			var got []string
			for _, in := range infos {
				got = append(got, in.ID)
				if in.Zip == "" || in.Path == in.Zip {
					t.Errorf("bundle %s lost its dir or zip: %+v", in.ID, in)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("bundles kept (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"defaults", func(*Config) {}, ""},
		{"no dir", func(c *Config) { c.Dir = "" }, "dir: must not be empty"},
		{"zero before", func(c *Config) { c.Before = 0 }, "before: must be positive, got 0s"},
		{"negative after", func(c *Config) { c.After = -time.Second }, "after: must not be negative, got -1s"},
		{"negative cooldown", func(c *Config) { c.Cooldown = -time.Second }, "cooldown: must not be negative, got -1s"},
		{"max_count", func(c *Config) { c.MaxCount = 0 }, "max_count: must be at least 1, got 0"},
		{"max_size", func(c *Config) { c.MaxSize = 10 }, "max_size: must be at least 1MiB, got 10 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			c.Dir = "/var/lib/arpbox/snapshots"
			tc.mod(&c)
			got := ""
			if err := c.Validate(); err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Validate (-want +got):\n%s", diff)
			}
		})
	}
	want := Config{Before: 10 * time.Minute, After: time.Minute, Cooldown: 5 * time.Minute, MaxCount: 50, MaxSize: 5 << 30}
	if diff := cmp.Diff(want, DefaultConfig()); diff != "" {
		t.Errorf("DefaultConfig (-want +got):\n%s", diff)
	}
}

// TestFreezeAcrossFilesystems puts the snapshots dir on another filesystem
// (/dev/shm, a tmpfs): hard links fail with EXDEV and the segments are
// copied, the current one again after the after-window.
func TestFreezeAcrossFilesystems(t *testing.T) {
	shm, err := os.MkdirTemp("/dev/shm", "arpbox-snapshot-test-")
	if err != nil {
		t.Skipf("skipping: no second filesystem at /dev/shm: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(shm) })
	ringDir := filepath.Join(t.TempDir(), "ring")
	if err := os.Link(os.Args[0], filepath.Join(shm, "probe")); err == nil {
		t.Skip("skipping: /dev/shm is on the same filesystem as the temp dir")
	}
	r := newTestRing(t, ringDir, []string{"eth0"}, t0)
	for i := range 10 {
		r.packet(0, at(time.Duration(i)*time.Second), uint32(i))
	}
	r.flush()
	release := make(chan struct{})
	sleep := func(ctx context.Context, d time.Duration) error {
		if d > time.Second && d != time.Second+settleMargin { // the default Hold
			<-release // waiting for T+after: the ring records meanwhile
		}
		return nil
	}
	clk := &fakeClock{t: at(5 * time.Second)}
	cfg := testConfig(shm)
	cfg.Before, cfg.After = time.Minute, time.Minute
	s, stop := startSnapshotter(t, cfg, ringDir, Options{Now: clk.Now, Sleep: sleep})
	defer stop()
	ch, err := s.Request(bundle.Event{Trigger: "x", Check: "manual", Reason: "r", Time: at(5 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	for i := 10; i < 20; i++ { // after T, into the same (copied) current segment
		r.packet(0, at(time.Duration(i)*time.Second), uint32(i))
	}
	r.flush()
	close(release)
	res := <-ch
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	m, _ := bundle.ReadManifestDir(res.Dir)
	if m.Freeze.Method != "copy" || len(m.Segments) != 1 || !m.Segments[0].Copied {
		t.Errorf("freeze %+v segments %+v, want one copied segment", m.Freeze, m.Segments)
	}
	if m.Capture.Packets != 20 {
		t.Errorf("packets = %d, want 20 (the copy must be refreshed after the after-window)", m.Capture.Packets)
	}
}

// TestShutdownKeepsFrozenWindow: arpbox stopping while a snapshot waits for
// its after-window writes the bundle with what was recorded, rather than
// losing the frozen minutes before the failure.
func TestShutdownKeepsFrozenWindow(t *testing.T) {
	ringDir := filepath.Join(t.TempDir(), "ring")
	r := newTestRing(t, ringDir, []string{"eth0"}, t0)
	for i := range 10 {
		r.packet(0, at(time.Duration(i)*time.Second), uint32(i))
	}
	r.close(at(11 * time.Second))
	cfg := testConfig(filepath.Join(t.TempDir(), "snap"))
	waiting := make(chan struct{})
	opts := Options{
		Now: func() time.Time { return at(12 * time.Second) },
		Sleep: func(ctx context.Context, d time.Duration) error {
			close(waiting) // only the after-window wait may run: shutdown comes during it
			<-ctx.Done()
			return ctx.Err()
		},
	}
	s, stop := startSnapshotter(t, cfg, ringDir, opts)
	ch, err := s.Request(bundle.Event{Trigger: "gw", Check: "neighbor", Reason: "FAILED", Time: at(9 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	<-waiting
	stop()
	res := <-ch
	if res.Err != nil || res.Dir == "" {
		t.Fatalf("result after shutdown = %+v, want a written bundle", res)
	}
	m, err := bundle.ReadManifestDir(res.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Window.EndedEarly == nil || m.Capture.Packets != 10 {
		t.Errorf("manifest: ended_early %v, packets %d; want the shutdown time and all 10 packets", m.Window.EndedEarly, m.Capture.Packets)
	}
	readme, _ := os.ReadFile(filepath.Join(res.Dir, "README.txt"))
	if !strings.Contains(string(readme), "arpbox was shut down at") {
		t.Errorf("README.txt does not say the window was cut short:\n%s", readme)
	}
}
