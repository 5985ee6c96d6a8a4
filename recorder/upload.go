package recorder

import (
	"context"
	"path/filepath"
	"time"

	"github.com/arpbox/arpbox/bundle"
	"github.com/arpbox/arpbox/upload"
)

// buildUpload makes the uploader when the configuration has an upload:
// section: it reads the credentials now, so that bad ones stop the start
// rather than every upload. Its metrics go on the recorder's registry.
func (r *Recorder) buildUpload() error {
	cfg := r.cfg.Upload
	if cfg == nil {
		return nil
	}
	store, err := upload.Open(*cfg)
	if err != nil {
		return err
	}
	m, err := upload.NewMetrics(r.opts.Registry)
	if err != nil {
		return err
	}
	log := r.log.With("part", "upload")
	if !cfg.Secure {
		log.Warn("upload: TLS is off (upload.insecure or an http:// endpoint): request signatures and bundles cross the network in clear", "endpoint", cfg.Endpoint)
	}
	r.uploader = upload.New(store, cfg.QueueDir, upload.Options{
		Logger:       log,
		Metrics:      m,
		SnapshotsDir: r.cfg.Snapshots.Dir,
	})
	return nil
}

// observeSnapshot counts a bundle's outcome and queues a written one for
// upload.
func (r *Recorder) observeSnapshot(id string, took time.Duration, err error) {
	r.metrics.observeSnapshot(id, took, err)
	if err != nil || r.uploader == nil {
		return
	}
	if err := r.uploader.Enqueue(id, filepath.Join(r.cfg.Snapshots.Dir, id+bundle.ZipExt)); err != nil {
		// Run queues it at its next start (it scans the snapshots).
		r.log.Error("bundle not queued for upload", "id", id, "err", err)
	}
}

// keepBundle tells snapshot retention to hold a bundle not yet uploaded.
func (r *Recorder) keepBundle(id string) bool {
	return r.uploader != nil && r.uploader.Pending(id)
}

// uploadTasks is the uploader, a helper: a failure (an unusable queue
// directory) is logged and retried, and never stops the recording.
func (r *Recorder) uploadTasks() []task {
	if r.uploader == nil {
		return nil
	}
	return []task{{name: "upload", run: func(ctx context.Context) error { return r.uploader.Run(ctx) }}}
}
