package ring

import (
	"errors"
	"fmt"
	"os"
)

// Sealing a segment ends with fsync, close, rename and a directory sync,
// which can take tens (on a busy disk, hundreds) of milliseconds. The owner
// goroutine, which also feeds the capture, hands that part to a sealer
// goroutine and goes on writing the next segment. The sealed segment is in
// the ring's list from the start (with its final name); retention waits for
// a segment that is still being sealed before removing it. Until the rename,
// List shows the segment under its .part name with complete contents.

// sealJob is one segment for the sealer to sync and rename.
type sealJob struct {
	f           *os.File
	part, final string
	done        chan struct{} // closed by the sealer when finished
	err         error         // set by the sealer before done is closed
	renamed     bool          // set by the sealer before done is closed
}

// ringSeg is a sealed segment in the Writer's list.
type ringSeg struct {
	Segment
	job *sealJob // pending or not yet accounted; nil afterwards
}

// runSealer syncs and renames segments until jobs is closed.
func runSealer(dir string, jobs <-chan *sealJob, exited chan<- struct{}) {
	defer close(exited)
	for j := range jobs {
		j.err = finishSeal(dir, j)
		close(j.done)
	}
}

func finishSeal(dir string, j *sealJob) error {
	var errs []error
	if err := j.f.Sync(); err != nil {
		errs = append(errs, fmt.Errorf("ring: sync %s: %w", j.part, err))
	}
	if err := j.f.Close(); err != nil {
		errs = append(errs, fmt.Errorf("ring: close %s: %w", j.part, err))
	}
	if err := os.Rename(j.part, j.final); err != nil {
		// The data is whole under the .part name; the next Open seals it.
		return errors.Join(append(errs, fmt.Errorf("ring: seal segment: %w", err))...)
	}
	j.renamed = true
	if err := syncDir(dir); err != nil {
		errs = append(errs, fmt.Errorf("ring: sync directory %s: %w", dir, err))
	}
	return errors.Join(errs...)
}

// startSealer starts the sealer goroutine; stopSealer stops it after the
// queued segments are done.
func (w *Writer) startSealer() {
	w.jobs = make(chan *sealJob, 8)
	w.sealerExited = make(chan struct{})
	go runSealer(w.cfg.Dir, w.jobs, w.sealerExited)
}

func (w *Writer) stopSealer() {
	if w.jobs == nil {
		return
	}
	close(w.jobs)
	<-w.sealerExited
	w.jobs = nil
}

// reap accounts for a finished seal job of rs; the caller has seen its done
// channel closed.
func (w *Writer) reap(rs *ringSeg) error {
	j := rs.job
	if j == nil {
		return nil
	}
	rs.job = nil
	if !j.renamed {
		rs.Path = j.part
	}
	if j.err != nil {
		w.st.WriteErrors++
		if isDiskFull(j.err) {
			w.st.DiskFull++
		}
		w.logErr(w.now(), "ring: finishing a sealed segment failed", j.err)
	}
	return j.err
}

// reapPending accounts for finished seal jobs; with wait, it first waits for
// all of them. It returns the first error.
func (w *Writer) reapPending(wait bool) error {
	var first error
	keep := w.pending[:0]
	for _, rs := range w.pending {
		if rs.job == nil {
			continue
		}
		if wait {
			<-rs.job.done
		}
		select {
		case <-rs.job.done:
			if err := w.reap(rs); first == nil {
				first = err
			}
		default:
			keep = append(keep, rs)
		}
	}
	clear(w.pending[len(keep):])
	w.pending = keep
	return first
}

// waitSealed waits until every sealed segment has its final name.
func (w *Writer) waitSealed() error { return w.reapPending(true) }
