package upload

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/arpbox/arpbox/bundle"
	"github.com/arpbox/arpbox/internal/backoff"
)

// Metric names.
const (
	MetricQueued   = "arpbox_uploads_queued"
	MetricUploads  = "arpbox_uploads_total"
	MetricFailures = "arpbox_upload_failures_total"
	MetricBytes    = "arpbox_upload_bytes_total"
	MetricDropped  = "arpbox_uploads_dropped_total"
)

// Metrics count the uploader's work.
type Metrics struct {
	queued   prometheus.Gauge
	uploads  prometheus.Counter
	failures prometheus.Counter
	bytes    prometheus.Counter
	dropped  prometheus.Counter
}

// NewMetrics makes the uploader's metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		queued:   prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricQueued, Help: "Bundles waiting in the upload queue."}),
		uploads:  prometheus.NewCounter(prometheus.CounterOpts{Name: MetricUploads, Help: "Bundles uploaded to object storage (zip and manifest)."}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{Name: MetricFailures, Help: "Upload attempts that failed (each is retried with backoff, unless it cannot succeed)."}),
		bytes:    prometheus.NewCounter(prometheus.CounterOpts{Name: MetricBytes, Help: "Bytes sent to object storage."}),
		dropped:  prometheus.NewCounter(prometheus.CounterOpts{Name: MetricDropped, Help: "Queued bundles removed from disk before they were uploaded (retention forced by the disk bound)."}),
	}
	for _, c := range []prometheus.Collector{m.queued, m.uploads, m.failures, m.bytes, m.dropped} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("upload metrics: %w", err)
		}
	}
	return m, nil
}

// Options are the uploader's dependencies; all are optional.
type Options struct {
	Logger  *slog.Logger // nil = discard
	Metrics *Metrics     // nil = not counted
	// SnapshotsDir is where bundles are published. At start, a bundle zip
	// there that the queue knows neither as pending nor as done (one
	// published just before a crash, or before upload was configured) is
	// queued, and done records of bundles gone from it are dropped.
	SnapshotsDir string
	// MinBackoff and MaxBackoff space the retries after a failed upload;
	// zero: 1 s doubling to 5 min.
	MinBackoff, MaxBackoff time.Duration
	// AttemptTimeout bounds one bundle's upload; zero: 30 min.
	AttemptTimeout time.Duration
}

// Uploader ships the queued bundles, oldest first, one at a time. Enqueue
// and Pending are safe from any goroutine; Run (one owner) uploads.
type Uploader struct {
	store *Store
	q     queue
	opts  Options
	log   *slog.Logger
	wake  chan struct{}
	// mu serialises Enqueue's writes with Run's start-up (cleaning and
	// reconciling the queue).
	mu   sync.Mutex
	last lastError // state.go
}

// New returns an uploader for store whose queue lives in queueDir. It
// starts nothing.
func New(store *Store, queueDir string, opts Options) *Uploader {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Minute
	}
	if opts.AttemptTimeout <= 0 {
		opts.AttemptTimeout = 30 * time.Minute
	}
	return &Uploader{store: store, q: queue{dir: queueDir}, opts: opts, log: opts.Logger, wake: make(chan struct{}, 1)}
}

// Enqueue durably queues the bundle id (its zip at zipPath) and wakes Run.
func (u *Uploader) Enqueue(id, zipPath string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if err := u.q.init(); err != nil {
		return err
	}
	if err := u.q.add(entry{ID: id, Zip: zipPath, Queued: time.Now().UTC()}); err != nil {
		return err
	}
	u.log.Info("bundle queued for upload", "id", id, "to", u.store.String())
	u.poke()
	return nil
}

func (u *Uploader) poke() {
	select {
	case u.wake <- struct{}{}:
	default:
	}
}

// Pending reports whether bundle id waits to be uploaded: the
// snapshotter's retention keeps it (snapshot.Options.Keep).
func (u *Uploader) Pending(id string) bool { return u.q.isPending(id) }

// Run uploads queued bundles until ctx is done, and returns nil then. It
// returns an error only when the queue directory cannot be used.
func (u *Uploader) Run(ctx context.Context) error {
	u.mu.Lock()
	err := u.q.init()
	if err == nil {
		u.q.clean()
		u.reconcile()
	}
	u.mu.Unlock()
	if err != nil {
		return err
	}
	retry := backoff.New(u.opts.MinBackoff, u.opts.MaxBackoff)
	for {
		ids, err := u.q.ids(pendingDir)
		if err != nil {
			return err
		}
		if m := u.opts.Metrics; m != nil {
			m.queued.Set(float64(len(ids)))
		}
		failed := false
		for _, id := range ids {
			if ctx.Err() != nil {
				return nil
			}
			err := u.ship(ctx, id)
			if err == nil || ctx.Err() == nil {
				u.last.set(id, err)
			}
			if err == nil {
				retry.Reset()
				continue
			}
			if ctx.Err() != nil {
				return nil
			}
			if m := u.opts.Metrics; m != nil {
				m.failures.Inc()
			}
			wait := retry.Next()
			u.log.Warn("upload failed; retrying", "id", id, "to", u.store.String(), "err", err, "retry_in", wait)
			if backoff.Sleep(ctx, wait) != nil {
				return nil
			}
			failed = true
			break
		}
		if failed || len(ids) > 0 {
			continue // list again: new entries, or the one that failed
		}
		select {
		case <-ctx.Done():
			return nil
		case <-u.wake:
		}
	}
}

// ship uploads one queued bundle and settles its entry. It returns an
// error only for a failure worth retrying.
func (u *Uploader) ship(ctx context.Context, id string) error {
	m := u.opts.Metrics
	e, err := u.q.read(id)
	if err != nil {
		u.log.Error("unreadable upload queue entry; dropped", "id", id, "err", err)
		if m != nil {
			m.failures.Inc()
		}
		return u.q.remove(id)
	}
	actx, cancel := context.WithTimeout(ctx, u.opts.AttemptTimeout)
	defer cancel()
	start := time.Now()
	got, err := u.store.Put(actx, e.Zip)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		u.log.Warn("bundle removed from disk before it was uploaded (retention forced by the disk bound?)", "id", id, "zip", e.Zip)
		if m != nil {
			m.dropped.Inc()
		}
		return u.q.remove(id)
	case errors.Is(err, errPermanent):
		u.log.Error("bundle cannot be uploaded; dropped from the queue", "id", id, "zip", e.Zip, "err", err)
		if m != nil {
			m.failures.Inc()
		}
		return u.q.remove(id)
	case err != nil:
		return err
	}
	if err := u.q.markDone(doneRecord{ID: id, Key: got.Key, SHA256: got.SHA256, Size: got.Size, Uploaded: time.Now().UTC()}); err != nil {
		return err
	}
	if m != nil {
		m.uploads.Inc()
		m.bytes.Add(float64(got.Bytes))
	}
	u.log.Info("bundle uploaded", "id", id, "object", u.store.bucket+"/"+got.Key, "bytes", got.Size,
		"sha256", got.SHA256, "took", time.Since(start).Round(time.Millisecond), "already_stored", got.Bytes == 0)
	return nil
}

// reconcile queues published bundles the queue does not know, and drops
// done records of bundles no longer on disk.
func (u *Uploader) reconcile() {
	dir := u.opts.SnapshotsDir
	if dir == "" {
		return
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			u.log.Warn("upload: cannot list the published bundles", "dir", dir, "err", err)
		}
		return
	}
	onDisk := map[string]bool{}
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), ZipExt)
		if !ok || !e.Type().IsRegular() || !bundle.ValidID(id) || strings.HasPrefix(id, ".") {
			continue
		}
		onDisk[id] = true
		if u.q.isPending(id) || u.q.isDone(id) {
			continue
		}
		if err := u.q.add(entry{ID: id, Zip: filepath.Join(dir, e.Name()), Queued: time.Now().UTC()}); err != nil {
			u.log.Warn("upload: cannot queue a published bundle", "id", id, "err", err)
			continue
		}
		u.log.Info("queued a published bundle the upload queue did not know", "id", id)
	}
	done, err := u.q.ids(doneDir)
	if err != nil {
		return
	}
	for _, id := range done {
		if !onDisk[id] {
			os.Remove(u.q.path(doneDir, id))
		}
	}
	syncDir(filepath.Join(u.q.dir, doneDir))
}

// Accessors for tests and the recorder's status.
func (m *Metrics) Queued() prometheus.Gauge     { return m.queued }
func (m *Metrics) Uploads() prometheus.Counter  { return m.uploads }
func (m *Metrics) Failures() prometheus.Counter { return m.failures }
func (m *Metrics) Bytes() prometheus.Counter    { return m.bytes }
func (m *Metrics) Dropped() prometheus.Counter  { return m.dropped }
