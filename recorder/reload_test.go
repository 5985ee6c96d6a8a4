package recorder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/arpbox/arpbox/capture"
	"github.com/arpbox/arpbox/configs"
	"github.com/arpbox/arpbox/ring"
	"github.com/arpbox/arpbox/snapshot"
	"github.com/arpbox/arpbox/trigger"
)

// reloadRig is a recorder recording from a fake source (live capture needs
// root and a namespace: the live test in cmd/arpbox does that) with a real
// ring, snapshotter, trigger runner and metrics, and its config file.
type reloadRig struct {
	r    *Recorder
	path string
	dir  string
	reg  *prometheus.Registry
}

// newReloadRig writes body (with %[1]s standing for a temporary directory)
// as the config file and starts the rig's recorder parts; they stop when
// the test ends.
func newReloadRig(t *testing.T, body string) *reloadRig {
	t.Helper()
	dir := t.TempDir()
	g := &reloadRig{dir: dir, path: filepath.Join(dir, "arpbox.yaml"), reg: prometheus.NewRegistry()}
	g.write(t, body)
	cfg, err := configs.Load(g.path)
	if err != nil {
		t.Fatal(err)
	}
	r := New(cfg, nil, Options{Version: "test", Registry: g.reg})
	s := r.caps.newSlot("eth0", fakeSource{capture.Stats{Received: 5}}, nil, ring.Interface{Name: "eth0"})
	r.first = []*slot{s}
	r.caps.slots = r.first
	w := ring.NewWriter(cfg.Ring, []ring.Interface{s.iface}, ring.Options{})
	if err := w.Open(); err != nil {
		t.Fatal(err)
	}
	r.ring = newRingOwner(discard(), w, 0, nil)
	r.ring.ifaces.Store(newIfaceMap(0).next(r.first, r.caps.nextSlotID()))
	if err := r.newMetrics(); err != nil {
		t.Fatal(err)
	}
	runner, err := r.newRunner(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.reload.runner.Store(runner)
	r.snaps = snapshot.New(cfg.Snapshots, cfg.Ring.Dir, snapshot.Options{})

	ctx, cancel := context.WithCancel(context.Background())
	capsDone, trigDone := make(chan error, 1), make(chan error, 1)
	go func() { capsDone <- r.caps.run(ctx, r.ring.write) }()
	go func() { trigDone <- r.runTriggers(ctx) }()
	r.recording.Store(true)
	t.Cleanup(func() {
		cancel()
		if err := <-capsDone; err != nil {
			t.Errorf("captures: %v", err)
		}
		if err := <-trigDone; err != nil {
			t.Errorf("triggers: %v", err)
		}
		r.ring.mu.Lock()
		defer r.ring.mu.Unlock()
		if err := w.Close(); err != nil {
			t.Errorf("ring close: %v", err)
		}
	})
	g.r = r
	return g
}

func (g *reloadRig) write(t *testing.T, body string) {
	t.Helper()
	if err := os.WriteFile(g.path, []byte(fmt.Sprintf(body, g.dir)), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (g *reloadRig) digest(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(g.path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

const reloadBase = `capture:
  interfaces: [eth0]
ring:
  dir: %[1]s/ring
  max_size: 64MiB
snapshots:
  dir: %[1]s/snapshots
  before: 5m
control:
  socket: %[1]s/arpbox.sock
`

const reloadTrigger = `triggers:
  - name: probe
    check: exec
    target: [/bin/true]
    interval: 1h
`

// TestReloadAppliesAndRefuses: a valid file is applied (ring limits,
// snapshot window, a trigger added), an invalid one is refused with its
// file:line and the configuration in force stays; status and metrics show
// the digest in force and each outcome.
func TestReloadAppliesAndRefuses(t *testing.T) {
	g := newReloadRig(t, reloadBase)
	r := g.r
	start := g.digest(t)
	if got := r.Status().ConfigDigest; got != start {
		t.Fatalf("status digest at start = %s, want %s", got, start)
	}

	// Valid: a trigger, a smaller ring, a shorter window, a new ring dir
	// (which needs a restart).
	g.write(t, strings.ReplaceAll(strings.Replace(reloadBase, "64MiB", "32MiB", 1), "before: 5m", "before: 2m")+reloadTrigger)
	if err := os.WriteFile(g.path, []byte(strings.Replace(readFile(t, g.path), "/ring\n", "/ring2\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := r.Reload(context.Background(), "test"); err != nil {
		t.Fatalf("valid reload: %v", err)
	}
	good := g.digest(t)
	st := r.Status()
	if st.ConfigDigest != good || st.LastReload == nil || !st.LastReload.OK {
		t.Fatalf("after a valid reload: digest %s (want %s), last reload %+v", st.ConfigDigest, good, st.LastReload)
	}
	if diff := cmp.Diff([]string{"ring", "snapshots", "triggers"}, st.LastReload.Applied); diff != "" {
		t.Errorf("applied (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ring.dir"}, st.LastReload.NeedsRestart); diff != "" {
		t.Errorf("needs restart (-want +got):\n%s", diff)
	}
	if len(st.Triggers) != 1 || st.Triggers[0].Name != "probe" {
		t.Errorf("triggers after reload: %+v, want the probe", st.Triggers)
	}
	if c := r.config(); c.Ring.MaxBytes != 32<<20 || c.Snapshots.Before != 2*time.Minute || c.Ring.Dir != g.dir+"/ring" {
		t.Errorf("config in force: max_size %d, before %v, ring dir %s; want 32MiB, 2m and the old dir", c.Ring.MaxBytes, c.Snapshots.Before, c.Ring.Dir)
	}

	// Invalid: a line with a bad value. Nothing changes.
	g.write(t, strings.Replace(reloadBase, "  max_size: 64MiB\n", "  max_size: 64MiB\n  segment_size: lots\n", 1))
	err := r.Reload(context.Background(), "test")
	if err == nil || !strings.Contains(err.Error(), g.path+":6:") {
		t.Fatalf("invalid reload = %v, want an error at %s:6", err, g.path)
	}
	st = r.Status()
	if st.ConfigDigest != good || st.LastReload.OK || !strings.Contains(st.LastReload.Error, g.path+":6:") {
		t.Errorf("after an invalid reload: digest %s (want %s kept), last reload %+v", st.ConfigDigest, good, st.LastReload)
	}
	if len(st.Triggers) != 1 {
		t.Errorf("triggers after a refused reload: %+v, want the probe kept", st.Triggers)
	}

	want := fmt.Sprintf(`# HELP arpbox_config_reloads_total Configuration reloads (file changes and SIGHUP), by outcome: ok (applied), error (refused: the configuration in force stayed).
# TYPE arpbox_config_reloads_total counter
arpbox_config_reloads_total{result="error"} 1
arpbox_config_reloads_total{result="ok"} 1
# HELP arpbox_config_last_reload_success 1 if the last configuration reload was applied (or none was tried), 0 if it was refused.
# TYPE arpbox_config_last_reload_success gauge
arpbox_config_last_reload_success 0
# HELP arpbox_config_info The running configuration: its file and SHA-256 digest.
# TYPE arpbox_config_info gauge
arpbox_config_info{digest=%q,file=%q} 1
`, good, g.path)
	if err := testutil.GatherAndCompare(g.reg, strings.NewReader(want), MetricConfigReloads, MetricConfigReloadOK, MetricConfigInfo); err != nil {
		t.Error(err)
	}
	problems, err := testutil.GatherAndLint(g.reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}

	// Fixed again: applied, the gauge back to 1.
	g.write(t, reloadBase)
	if err := r.Reload(context.Background(), "test"); err != nil {
		t.Fatalf("reload of the first file: %v", err)
	}
	if st := r.Status(); st.ConfigDigest != start || len(st.Triggers) != 0 {
		t.Errorf("back to the first file: digest %s (want %s), triggers %+v (want none)", st.ConfigDigest, start, st.Triggers)
	}
	if v := testutil.ToFloat64(gaugeOf(t, g.reg, MetricConfigReloadOK)); v != 1 {
		t.Errorf("%s = %v after a good reload, want 1", MetricConfigReloadOK, v)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// gaugeOf returns a collector for the one series of an unlabelled metric.
func gaugeOf(t *testing.T, g prometheus.Gatherer, name string) prometheus.Collector {
	t.Helper()
	fams, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == name && len(f.Metric) == 1 {
			gg := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: "copy"})
			gg.Set(f.Metric[0].GetGauge().GetValue())
			return gg
		}
	}
	t.Fatalf("%s not gathered", name)
	return nil
}

// TestMetricsCaptureGapAndFreezeFailure: every live interface has its gap
// and watchdog series, and a snapshot that fails at freeze time (an
// unusable snapshots dir) is counted as failed.
func TestMetricsCaptureGapAndFreezeFailure(t *testing.T) {
	g := newReloadRig(t, reloadBase)
	r := g.r
	live := capture.NewLive(capture.LiveConfig{Iface: "eth9"}, nil) // never run: no gap, no reopen
	r.caps.mu.Lock()
	r.caps.slots = append(r.caps.slots, &slot{id: 99, name: "eth9", src: live, live: live, done: make(chan struct{})})
	r.caps.mu.Unlock()
	want := `# HELP arpbox_capture_gap_seconds_total Seconds an interface was not captured since it was first open (link down or away, reopening), the gap going on included, per capture interface.
# TYPE arpbox_capture_gap_seconds_total counter
arpbox_capture_gap_seconds_total{interface="eth9"} 0
# HELP arpbox_capture_link_downs_total Times an interface went down and up again with its capture kept open (no reopen, no gap), per capture interface.
# TYPE arpbox_capture_link_downs_total counter
arpbox_capture_link_downs_total{interface="eth9"} 0
# HELP arpbox_capture_watchdog_reopens_total Times the capture watchdog reopened an interface that had handed over no frame while the kernel counted some (counted in arpbox_capture_reopens_total too), per capture interface.
# TYPE arpbox_capture_watchdog_reopens_total counter
arpbox_capture_watchdog_reopens_total{interface="eth9"} 0
`
	if err := testutil.GatherAndCompare(g.reg, strings.NewReader(want), MetricGap, MetricLinkDowns, MetricWatchdogReopens); err != nil {
		t.Error(err)
	}
	r.caps.mu.Lock()
	r.caps.slots = r.caps.slots[:1] // the rig stops only what it started
	r.caps.mu.Unlock()

	blocker := filepath.Join(g.dir, "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := r.config().Snapshots
	cfg.Dir = filepath.Join(blocker, "snapshots")
	snaps := snapshot.New(cfg, r.config().Ring.Dir, snapshot.Options{Observe: r.metrics.observeSnapshot})
	res, err := snaps.Request(trigger.Manual("test", "test"))
	if err != nil {
		t.Fatalf("Request: %v", err)
	}
	if got := <-res; got.Err == nil {
		t.Fatal("a snapshot into a dir below a file did not fail")
	}
	if v := testutil.ToFloat64(r.metrics.snapFailed); v != 1 {
		t.Errorf("%s = %v after a failure at freeze time, want 1", MetricSnapshotsFailed, v)
	}
}
