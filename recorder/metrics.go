package recorder

import (
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/arpbox/arpbox/ring"
	"github.com/arpbox/arpbox/snapshot"
	"github.com/arpbox/arpbox/trigger"
)

// Metric names. Counters end in _total; sizes are bytes, times seconds.
const (
	MetricFrames          = "arpbox_capture_frames_total"
	MetricBytes           = "arpbox_capture_bytes_total"
	MetricKernelReceived  = "arpbox_capture_kernel_received_total"
	MetricDrops           = "arpbox_capture_drops_total"
	MetricReopens         = "arpbox_capture_reopens_total"
	MetricWatchdogReopens = "arpbox_capture_watchdog_reopens_total"
	MetricGap             = "arpbox_capture_gap_seconds_total"
	MetricLinkDowns       = "arpbox_capture_link_downs_total"
	MetricRingBytes       = "arpbox_ring_bytes"
	MetricRingSegments    = "arpbox_ring_segments"
	MetricRingWritten     = "arpbox_ring_written_bytes_total"
	MetricRingLost        = "arpbox_ring_lost_frames_total"
	MetricRingWriteErrors = "arpbox_ring_write_errors_total"
	MetricRingOldestAge   = "arpbox_ring_oldest_frame_age_seconds"
	MetricDiskFree        = "arpbox_ring_disk_free_bytes"
	MetricRingRecreated   = "arpbox_ring_dir_recreated_total"
	MetricRingSegLost     = "arpbox_ring_segments_lost_total"
	MetricClockSteps      = "arpbox_clock_steps_total"
	MetricRingHeld        = "arpbox_ring_held_bytes"
	MetricTriggerState    = "arpbox_trigger_state"
	MetricTriggerFires    = "arpbox_trigger_fires_total"
	MetricCheckDuration   = "arpbox_check_duration_seconds"
	MetricCheckFailures   = "arpbox_check_failures_total"
	MetricSnapshots       = "arpbox_snapshots_written_total"
	MetricSnapshotsFailed = "arpbox_snapshots_failed_total"
	MetricSnapshotTime    = "arpbox_snapshot_duration_seconds"
	MetricBundles         = "arpbox_snapshot_bundles"
	MetricBundleBytes     = "arpbox_snapshot_bundle_bytes"
	MetricConfigInfo      = "arpbox_config_info"
	MetricConfigReloads   = "arpbox_config_reloads_total"
	MetricConfigReloadOK  = "arpbox_config_last_reload_success"
	MetricConfigReloadAt  = "arpbox_config_last_reload_success_timestamp_seconds"
	MetricBuildInfo       = "arpbox_build_info"
)

// metrics are the recorder's Prometheus metrics. What the recorder's parts
// already count (capture and ring statistics, trigger states, bundles on
// disk) is read when scraped, like node_exporter's collectors; what needs
// events (probe latency, snapshot outcomes) is observed through the
// trigger runner's and the snapshotter's Observe hooks.
type metrics struct {
	r *Recorder

	checkDuration *prometheus.HistogramVec
	checkFailures *prometheus.CounterVec
	snapDuration  prometheus.Histogram
	snapWritten   prometheus.Counter
	snapFailed    prometheus.Counter

	mu        sync.Mutex
	lastProbe map[string]probeResult // by trigger name, for Status

	frames, bytes, received, drops, reopens     *prometheus.Desc
	watchdogReopens, gap, linkDowns             *prometheus.Desc
	ringBytes, ringSegments, ringWritten        *prometheus.Desc
	ringLost, ringWriteErrors, oldest, diskFree *prometheus.Desc
	triggerState, triggerFires                  *prometheus.Desc
	bundles, bundleBytes, configInfo, buildInfo *prometheus.Desc
	reloads, reloadOK, reloadAt                 *prometheus.Desc
	ringRecreated, ringSegLost, clockSteps      *prometheus.Desc
	ringHeld                                    *prometheus.Desc
}

// probeResult is a trigger's last probe.
type probeResult struct {
	ok   bool
	took time.Duration
}

// newMetrics makes the recorder's metrics and registers them on reg.
func newMetrics(r *Recorder, reg prometheus.Registerer) (*metrics, error) {
	iface := []string{"interface"}
	m := &metrics{
		r:         r,
		lastProbe: map[string]probeResult{},
		checkDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    MetricCheckDuration,
			Help:    "How long each trigger's health check probe took, failed ones included.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"trigger"}),
		checkFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricCheckFailures,
			Help: "Health check probes that failed (timeouts included), per trigger.",
		}, []string{"trigger"}),
		snapDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    MetricSnapshotTime,
			Help:    "How long writing an incident bundle took, waiting out its after-window included.",
			Buckets: []float64{1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800},
		}),
		snapWritten: prometheus.NewCounter(prometheus.CounterOpts{Name: MetricSnapshots, Help: "Incident bundles written."}),
		snapFailed:  prometheus.NewCounter(prometheus.CounterOpts{Name: MetricSnapshotsFailed, Help: "Incident bundles that failed after being accepted."}),

		frames:          prometheus.NewDesc(MetricFrames, "Frames captured and handed to the ring, per capture interface (those a disk error then lost are counted in arpbox_ring_lost_frames_total too).", iface, nil),
		bytes:           prometheus.NewDesc(MetricBytes, "Bytes of frames (as captured, up to the snap length) recorded into the ring, per capture interface.", iface, nil),
		received:        prometheus.NewDesc(MetricKernelReceived, "Frames that passed the kernel's capture filter, dropped ones included (the kernel's counter), per capture interface.", iface, nil),
		drops:           prometheus.NewDesc(MetricDrops, "Frames the kernel dropped because the capture buffer was full, per capture interface.", iface, nil),
		reopens:         prometheus.NewDesc(MetricReopens, "Times an interface was lost (a capture gap) and capture resumed, per capture interface.", iface, nil),
		watchdogReopens: prometheus.NewDesc(MetricWatchdogReopens, "Times the capture watchdog reopened an interface that had handed over no frame while the kernel counted some (counted in arpbox_capture_reopens_total too), per capture interface.", iface, nil),
		gap:             prometheus.NewDesc(MetricGap, "Seconds an interface was not captured since it was first open (link down or away, reopening), the gap going on included, per capture interface.", iface, nil),
		linkDowns:       prometheus.NewDesc(MetricLinkDowns, "Times an interface went down and up again with its capture kept open (no reopen, no gap), per capture interface.", iface, nil),
		ringBytes:       prometheus.NewDesc(MetricRingBytes, "Bytes of the ring's segments on disk, the current one included.", nil, nil),
		ringSegments:    prometheus.NewDesc(MetricRingSegments, "Segments in the ring, the current one included.", nil, nil),
		ringWritten:     prometheus.NewDesc(MetricRingWritten, "Bytes written into ring segments (pcapng blocks).", nil, nil),
		ringLost:        prometheus.NewDesc(MetricRingLost, "Frames lost to disk errors (not stored, or lost with a failed segment).", nil, nil),
		ringWriteErrors: prometheus.NewDesc(MetricRingWriteErrors, "Failed creates, writes, flushes, syncs and renames of ring segments.", nil, nil),
		oldest:          prometheus.NewDesc(MetricRingOldestAge, "Age of the oldest segment's start: how far back the ring reaches.", nil, nil),
		diskFree:        prometheus.NewDesc(MetricDiskFree, "Bytes free (to unprivileged users) on the file system holding the ring.", nil, nil),
		ringRecreated:   prometheus.NewDesc(MetricRingRecreated, "Times the ring directory was found removed and was recreated, with its lock.", nil, nil),
		ringSegLost:     prometheus.NewDesc(MetricRingSegLost, "Sealed ring segments lost to something else removing them (the ring directory deleted).", nil, nil),
		clockSteps:      prometheus.NewDesc(MetricClockSteps, "Steps of the wall clock against the monotonic clock seen by the ring (recorded in .arpbox-clock.jsonl).", nil, nil),
		ringHeld:        prometheus.NewDesc(MetricRingHeld, "Bytes of ring segments also held by snapshots (hard links): pruning them frees nothing until the snapshot lets go.", nil, nil),
		triggerState:    prometheus.NewDesc(MetricTriggerState, "1 for the trigger's current state (unknown, up, down: fired, disabled), 0 for the others.", []string{"trigger", "check", "state"}, nil),
		triggerFires:    prometheus.NewDesc(MetricTriggerFires, "Outages a trigger fired for (events emitted).", []string{"trigger"}, nil),
		bundles:         prometheus.NewDesc(MetricBundles, "Incident bundles kept in the snapshots directory.", nil, nil),
		bundleBytes:     prometheus.NewDesc(MetricBundleBytes, "Bytes of the incident bundles kept (directories and zips).", nil, nil),
		configInfo:      prometheus.NewDesc(MetricConfigInfo, "The running configuration: its file and SHA-256 digest.", []string{"file", "digest"}, nil),
		reloads:         prometheus.NewDesc(MetricConfigReloads, "Configuration reloads (file changes and SIGHUP), by outcome: ok (applied), error (refused: the configuration in force stayed).", []string{"result"}, nil),
		reloadOK:        prometheus.NewDesc(MetricConfigReloadOK, "1 if the last configuration reload was applied (or none was tried), 0 if it was refused.", nil, nil),
		reloadAt:        prometheus.NewDesc(MetricConfigReloadAt, "When the configuration in force was last loaded: the start, or the last applied reload (Unix time).", nil, nil),
		buildInfo:       prometheus.NewDesc(MetricBuildInfo, "The arpbox build: its version and Go version.", []string{"version", "goversion"}, nil),
	}
	for _, c := range []prometheus.Collector{m, m.checkDuration, m.checkFailures, m.snapDuration, m.snapWritten, m.snapFailed} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// handler serves reg's metrics.
func metricsHandler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// observeProbe is the trigger runner's Observe hook.
func (m *metrics) observeProbe(name string, took time.Duration, err error) {
	m.checkDuration.WithLabelValues(name).Observe(took.Seconds())
	if err != nil {
		m.checkFailures.WithLabelValues(name).Inc()
	}
	m.mu.Lock()
	m.lastProbe[name] = probeResult{ok: err == nil, took: took}
	m.mu.Unlock()
}

// observeSnapshot is the snapshotter's Observe hook.
func (m *metrics) observeSnapshot(_ string, took time.Duration, err error) {
	if err != nil {
		m.snapFailed.Inc()
		return
	}
	m.snapWritten.Inc()
	m.snapDuration.Observe(took.Seconds())
}

// lastProbeOf returns a trigger's last probe result.
func (m *metrics) lastProbeOf(name string) (probeResult, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.lastProbe[name]
	return p, ok
}

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		m.frames, m.bytes, m.received, m.drops, m.reopens, m.watchdogReopens, m.gap, m.linkDowns,
		m.ringBytes, m.ringSegments, m.ringWritten, m.ringLost, m.ringWriteErrors, m.oldest, m.diskFree,
		m.triggerState, m.triggerFires, m.bundles, m.bundleBytes, m.configInfo, m.buildInfo,
		m.reloads, m.reloadOK, m.reloadAt,
		m.ringRecreated, m.ringSegLost, m.clockSteps, m.ringHeld,
	} {
		ch <- d
	}
}

var triggerStates = []trigger.State{trigger.StateUnknown, trigger.StateUp, trigger.StateDown, trigger.StateDisabled}

// Collect implements prometheus.Collector: it reads the recorder's state.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	r := m.r
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	st := r.Status()
	for _, in := range st.Interfaces {
		counter(m.frames, float64(in.FramesRecorded), in.Name)
		counter(m.bytes, float64(in.BytesRecorded), in.Name)
		counter(m.received, float64(in.Received), in.Name)
		counter(m.drops, float64(in.Dropped), in.Name)
		counter(m.reopens, float64(in.Reopens), in.Name)
	}
	for _, s := range r.caps.list() {
		if s.live != nil {
			counter(m.watchdogReopens, float64(s.live.WatchdogReopens()), s.name)
			counter(m.gap, s.live.Gap().Seconds(), s.name)
			counter(m.linkDowns, float64(s.live.LinkDowns()), s.name)
		}
	}
	gauge(m.ringBytes, float64(st.Ring.RingBytes))
	gauge(m.ringSegments, float64(st.Ring.Segments))
	counter(m.ringWritten, float64(st.Ring.BytesWritten))
	counter(m.ringLost, float64(st.Ring.PacketsDropped))
	counter(m.ringWriteErrors, float64(st.Ring.WriteErrors))
	counter(m.ringRecreated, float64(st.Ring.DirRecreated))
	counter(m.ringSegLost, float64(st.Ring.SegmentsLost))
	counter(m.clockSteps, float64(st.Ring.ClockSteps))
	gauge(m.ringHeld, float64(st.Ring.HeldBytes))
	if segs, err := ring.List(r.cfg.Ring.Dir); err == nil && len(segs) > 0 {
		gauge(m.oldest, time.Since(segs[0].Start).Seconds())
	}
	if free, _, err := ring.DiskFree(r.cfg.Ring.Dir); err == nil {
		gauge(m.diskFree, float64(free))
	}
	for _, t := range st.Triggers {
		for _, s := range triggerStates {
			v := 0.0
			if t.State == s {
				v = 1
			}
			gauge(m.triggerState, v, t.Name, t.Check, string(s))
		}
		counter(m.triggerFires, float64(t.Fires), t.Name)
	}
	if infos, err := snapshot.List(r.cfg.Snapshots.Dir); err == nil {
		var size int64
		for _, in := range infos {
			size += in.Size
		}
		gauge(m.bundles, float64(len(infos)))
		gauge(m.bundleBytes, float64(size))
	}
	gauge(m.configInfo, 1, r.cfg.Source, st.ConfigDigest)
	counter(m.reloads, float64(r.reload.ok.Load()), "ok")
	counter(m.reloads, float64(r.reload.failed.Load()), "error")
	ok := 1.0
	if st.LastReload != nil && !st.LastReload.OK {
		ok = 0
	}
	gauge(m.reloadOK, ok)
	gauge(m.reloadAt, float64(r.reload.okAt.Load())/1e9)
	gauge(m.buildInfo, 1, r.opts.Version, runtime.Version())
}
