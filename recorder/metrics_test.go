package recorder

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/arpbox/arpbox/capture"
	"github.com/arpbox/arpbox/ring"
)

// fakeSource is a capture source with fixed kernel counters.
type fakeSource struct{ st capture.Stats }

func (s fakeSource) Run(ctx context.Context, _ func(*capture.Batch)) error { <-ctx.Done(); return nil }
func (s fakeSource) Stats() capture.Stats                                  { return s.st }

// TestMetrics: the collector reports the recorder's state under the names
// the README lists, promlint finds nothing to say about them, and the
// hooks count probes and bundles.
func TestMetrics(t *testing.T) {
	dir := t.TempDir()
	cfg := parseConfig(t, "capture:\n  interfaces: [eth0]\nring:\n  dir: "+filepath.Join(dir, "ring")+"\nsnapshots:\n  dir: "+filepath.Join(dir, "snapshots")+"\n")
	r := New(cfg, nil, Options{Version: "1.2.3"})
	src := fakeSource{capture.Stats{Received: 12, Dropped: 2, Reopens: 1}}
	r.caps.slots = []*slot{r.caps.newSlot("eth0", src, nil, ring.Interface{Name: "eth0"})}
	r.ring = newRingOwner(discard(), ring.NewWriter(cfg.Ring, []ring.Interface{{Name: "eth0"}}, ring.Options{}), 1, nil)
	c := r.ring.ifaces.Load().count(0)
	c.frames.Add(10)
	c.bytes.Add(420)
	reg := prometheus.NewRegistry()
	m, err := newMetrics(r, reg)
	if err != nil {
		t.Fatal(err)
	}
	r.metrics = m
	m.observeProbe("gw", 3*time.Millisecond, nil)
	m.observeProbe("gw", time.Second, errors.New("timeout"))
	m.observeSnapshot("a", 4*time.Second, nil)
	m.observeSnapshot("b", time.Second, errors.New("disk full"))

	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	want := `# HELP arpbox_capture_frames_total Frames captured and handed to the ring, per capture interface (those a disk error then lost are counted in arpbox_ring_lost_frames_total too).
# TYPE arpbox_capture_frames_total counter
arpbox_capture_frames_total{interface="eth0"} 10
# HELP arpbox_capture_bytes_total Bytes of frames (as captured, up to the snap length) recorded into the ring, per capture interface.
# TYPE arpbox_capture_bytes_total counter
arpbox_capture_bytes_total{interface="eth0"} 420
# HELP arpbox_capture_drops_total Frames the kernel dropped because the capture buffer was full, per capture interface.
# TYPE arpbox_capture_drops_total counter
arpbox_capture_drops_total{interface="eth0"} 2
# HELP arpbox_capture_reopens_total Times an interface was lost (a capture gap) and capture resumed, per capture interface.
# TYPE arpbox_capture_reopens_total counter
arpbox_capture_reopens_total{interface="eth0"} 1
# HELP arpbox_check_failures_total Health check probes that failed (timeouts included), per trigger.
# TYPE arpbox_check_failures_total counter
arpbox_check_failures_total{trigger="gw"} 1
# HELP arpbox_snapshots_written_total Incident bundles written.
# TYPE arpbox_snapshots_written_total counter
arpbox_snapshots_written_total 1
# HELP arpbox_snapshots_failed_total Incident bundles that failed after being accepted.
# TYPE arpbox_snapshots_failed_total counter
arpbox_snapshots_failed_total 1
# HELP arpbox_snapshot_bundles Incident bundles kept in the snapshots directory.
# TYPE arpbox_snapshot_bundles gauge
arpbox_snapshot_bundles 0
`
	names := []string{MetricFrames, MetricBytes, MetricDrops, MetricReopens, MetricCheckFailures, MetricSnapshots, MetricSnapshotsFailed, MetricBundles}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	if n, _ := testutil.GatherAndCount(reg, MetricCheckDuration); n != 1 {
		t.Errorf("%s: %d series, want 1", MetricCheckDuration, n)
	}
	if n, _ := testutil.GatherAndCount(reg, MetricConfigInfo, MetricBuildInfo); n != 2 {
		t.Errorf("info metrics: %d series, want 2", n)
	}
	if p, ok := m.lastProbeOf("gw"); !ok || p.ok || p.took != time.Second {
		t.Errorf("last probe of gw = %+v, %v; want the failed one", p, ok)
	}
}
