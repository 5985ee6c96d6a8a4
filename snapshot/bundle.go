package snapshot

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/arpbox/arpbox/bundle"
	"github.com/arpbox/arpbox/internal/pcapng"
	"github.com/arpbox/arpbox/ring"
	"github.com/klauspost/compress/flate"
)

// maxStatus bounds the line added to the section comment after the merge
// (packet count, which packet carries the trigger comment); see headSlack.
const maxStatus = 512

// captureSummary is what writeCapture learned.
type captureSummary struct {
	stats  mergeStats
	ifaces []pcapng.Interface
	drops  []dropCount // by output interface
	note   string      // trigger-packet note, also in the section header
}

// triggerComment is the packet comment on the first packet at or after T.
func triggerComment(ev bundle.Event) string {
	what := ev.Check
	if ev.Target != "" {
		what += " " + ev.Target
	}
	return fmt.Sprintf("arpbox trigger: %s (%s): %s", ev.Trigger, what, ev.Reason)
}

func rfc(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// sectionComment summarises the incident for the capture's section header.
func (s *Snapshotter) sectionComment(j *job) string {
	var b strings.Builder
	fmt.Fprintf(&b, "arpbox incident snapshot %s\n", j.id)
	fmt.Fprintf(&b, "trigger: %s (check %s", j.ev.Trigger, j.ev.Check)
	if j.ev.Target != "" {
		fmt.Fprintf(&b, ", target %s", j.ev.Target)
	}
	fmt.Fprintf(&b, ")\nreason: %s\n", j.ev.Reason)
	fmt.Fprintf(&b, "T: %s\n", rfc(j.ev.Time))
	fmt.Fprintf(&b, "host: %s\n", s.opts.Hostname)
	fmt.Fprintf(&b, "window: %s to %s (%v before T, %v after)", rfc(j.from), rfc(j.to), j.ev.Time.Sub(j.from), j.to.Sub(j.ev.Time))
	out := b.String()
	if len(out) > 8<<10 {
		out = out[:8<<10]
	}
	return out
}

// writeCapture merges the pinned segments into path, a gzip-compressed
// pcapng (see gzip.go for its two members).
// Every packet written is also handed to sinks.
func (s *Snapshotter) writeCapture(ctx context.Context, log *slog.Logger, j *job, path string, sinks []StreamCollector) (captureSummary, error) {
	var sum captureSummary
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, fileMode)
	if err != nil {
		return sum, fmt.Errorf("create %s: %w", captureName, err)
	}
	defer f.Close()
	inputs := j.inputs()
	m := newMerger(log, inputs, j.tlFrom, j.tlTo, j.tlT, triggerComment(j.ev))
	m.sinks = sinks
	m.scanInterfaces()

	host := ring.HostInfo()
	sec := pcapng.Section{
		Comment:  s.sectionComment(j),
		Hardware: host.Hardware,
		OS:       host.OS,
		UserAppl: strings.TrimSpace("arpbox " + s.opts.Version),
	}
	gc := newGzipCapture(f, sec.SectionLen())
	defer gc.abort() // after close, a no-op
	nw := pcapng.NewWriter(gc)
	if err := nw.WriteSection(sec); err != nil {
		return sum, fmt.Errorf("write %s: %w", captureName, err)
	}
	for _, in := range m.ifaces {
		if _, err := nw.WriteInterface(in); err != nil {
			return sum, fmt.Errorf("write %s: %w", captureName, err)
		}
	}
	if err := m.run(ctx, nw); err != nil {
		return sum, err
	}
	sum.stats, sum.ifaces = m.stats, m.ifaces

	// Interface statistics: drops over the window where the ring's
	// statistics blocks allow it.
	last := s.lastStats(inputs, m.ifaces)
	for i, in := range m.ifaces {
		b, hb := j.baseStats[in.Name]
		l, hl := last[in.Name]
		d := windowDrops(b, l, hb, hl)
		st := bundleStats(i, d, j.from, j.to, m.stats.PerIface[i], m.stats.First, m.stats.Last)
		if d.Kind != "unknown" { // the manifest says what the block says
			d.Received, d.From, d.To = st.Received, time.Unix(0, st.StartTime).UTC(), time.Unix(0, st.EndTime).UTC()
		}
		sum.drops = append(sum.drops, d)
		if err := nw.WriteStats(st); err != nil {
			return sum, fmt.Errorf("write %s: %w", captureName, err)
		}
	}
	if err := nw.Flush(); err != nil {
		return sum, fmt.Errorf("write %s: %w", captureName, err)
	}
	if err := gc.close(); err != nil {
		return sum, fmt.Errorf("write %s: %w", captureName, err)
	}

	st := m.stats
	var status string
	if st.Trigger > 0 {
		sum.note = fmt.Sprintf("the trigger comment is on packet %d (%s), the first packet at or after T", st.Trigger, rfc(time.Unix(0, st.TriggerTime)))
	} else if st.Packets > 0 {
		sum.note = fmt.Sprintf("no packet was captured at or after T; the last packet before T is packet %d (%s)", st.Packets, rfc(time.Unix(0, st.Last)))
	} else {
		sum.note = "no packet was captured in the window"
	}
	status = fmt.Sprintf("packets: %d; %s", st.Packets, sum.note)
	if len(status) > maxStatus {
		status = status[:maxStatus]
	}
	sec.Comment += "\n" + status
	if err := gc.rewriteHead(pcapng.AppendSection(nil, sec)); err != nil {
		return sum, fmt.Errorf("write %s: %w", captureName, err)
	}
	if err := f.Sync(); err != nil {
		return sum, fmt.Errorf("sync %s: %w", captureName, err)
	}
	return sum, f.Close()
}

// lastStats returns, per interface name, the latest statistics block among
// the pinned segments: sealed ones end with one per interface; the newest,
// usually the current segment, has them where the ring's flush for this
// bundle wrote them, after the window's last packets.
func (s *Snapshotter) lastStats(inputs []mergeInput, ifaces []pcapng.Interface) map[string]ifaceStats {
	out := map[string]ifaceStats{}
	for i := len(inputs) - 1; i >= 0 && len(out) < len(ifaces); i-- {
		read := trailingStats
		if i == len(inputs)-1 {
			read = allStats
		}
		st, err := read(inputs[i].Path)
		if err != nil {
			continue
		}
		for name, v := range st {
			if _, ok := out[name]; !ok {
				out[name] = v
			}
		}
	}
	return out
}

// writeBundle builds the bundle in .tmp-<id>, publishes it as <id> and packs <id>.zip.
func (s *Snapshotter) writeBundle(ctx context.Context, log *slog.Logger, j *job) (string, string, error) {
	tmp := filepath.Join(s.cfg.Dir, ".tmp-"+j.id)
	final := filepath.Join(s.cfg.Dir, j.id)
	os.RemoveAll(tmp)
	if err := os.Mkdir(tmp, dirMode); err != nil {
		return "", "", fmt.Errorf("create bundle dir in %s: %w", s.cfg.Dir, err)
	}
	b := &Bundle{ID: j.id, Dir: tmp, Event: j.ev, Window: bundle.Window{From: j.from, To: j.to}, CapturePath: filepath.Join(tmp, captureName)}
	collectors := slices.Clone(j.collectors)
	var sinks []StreamCollector
	for i, c := range collectors {
		if st, ok := c.(Streamer); ok {
			sc := st.Stream(b)
			collectors[i] = sc
			sinks = append(sinks, sc)
		}
	}
	start := time.Now()
	sum, err := s.writeCapture(ctx, log, j, b.CapturePath, sinks)
	if err != nil {
		return "", "", err
	}
	log.Info("snapshot capture written", "packets", sum.stats.Packets, "segments", len(j.pins), "took", time.Since(start))

	var results []bundle.ManifestResult
	for _, c := range collectors {
		cctx, cancel := context.WithTimeout(ctx, collectorTimeout)
		start := time.Now()
		err := c.Collect(cctx, b)
		cancel()
		r := bundle.ManifestResult{Name: c.Name(), OK: err == nil, DurationMS: ms(time.Since(start))}
		var msgs []string
		if e, ok := j.collErrs[c.Name()]; ok {
			msgs = append(msgs, e)
			r.OK = false
		}
		if err != nil {
			msgs = append(msgs, err.Error())
			log.Warn("collector failed; the bundle is written without its files", "collector", c.Name(), "err", err)
		}
		r.Error = strings.Join(msgs, "; ")
		results = append(results, r)
	}
	for name, e := range j.collErrs { // Freezers that produced nothing
		found := false
		for _, r := range results {
			found = found || r.Name == name
		}
		if !found {
			results = append(results, bundle.ManifestResult{Name: name, Error: e})
		}
	}
	if ctx.Err() != nil {
		return "", "", fmt.Errorf("writing bundle: %w", ctx.Err())
	}

	man := s.manifest(j, sum, results)
	if man.Files, err = listFiles(tmp); err != nil { // for the README; hashed below
		return "", "", fmt.Errorf("list bundle files: %w", err)
	}
	if err := b.WriteFile(readmeName, func(w io.Writer) error { return writeReadme(w, man) }); err != nil {
		return "", "", err
	}
	if err := sameMode(tmp); err != nil {
		return "", "", err
	}
	files, err := hashFiles(tmp)
	if err != nil {
		return "", "", fmt.Errorf("hash bundle files: %w", err)
	}
	man.Files = files
	if err := writeManifest(filepath.Join(tmp, manifestName), man); err != nil {
		return "", "", err
	}
	if err := syncDir(tmp); err != nil {
		return "", "", fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", "", fmt.Errorf("publish bundle: %w", err)
	}
	if err := syncDir(s.cfg.Dir); err != nil {
		return "", "", fmt.Errorf("sync %s: %w", s.cfg.Dir, err)
	}
	zipPath := final + bundle.ZipExt
	start = time.Now()
	if err := writeZip(final, j.id, zipPath); err != nil {
		return final, "", fmt.Errorf("pack %s: %w", filepath.Base(zipPath), err)
	}
	log.Debug("snapshot zip written", "took", time.Since(start))
	return final, zipPath, nil
}

// sameMode gives every file of the bundle directory fileMode (collectors
// may write theirs with another), so that one chmod or group serves all.
func sameMode(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("bundle files: %w", err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		if err := os.Chmod(filepath.Join(dir, e.Name()), fileMode); err != nil {
			return fmt.Errorf("bundle file %s: %w", e.Name(), err)
		}
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func writeManifest(path string, m *bundle.Manifest) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fileMode)
	if err != nil {
		return err
	}
	if err := bundle.WriteManifest(f, m); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", filepath.Base(path), err)
	}
	return f.Close()
}

// manifest assembles the manifest (without the file list).
func (s *Snapshotter) manifest(j *job, sum captureSummary, results []bundle.ManifestResult) *bundle.Manifest {
	st := sum.stats
	m := &bundle.Manifest{
		Format:        bundle.FormatVersion,
		ID:            j.id,
		ArpboxVersion: s.opts.Version,
		Host:          s.opts.Hostname,
		Created:       s.opts.Now().UTC(),
		Trigger: bundle.Event{
			Trigger: j.ev.Trigger, Check: j.ev.Check, Target: j.ev.Target, Reason: j.ev.Reason, Time: j.ev.Time.UTC(),
			Incident: j.ev.Incident, Origin: j.ev.Origin,
		},
		Window: bundle.ManifestWindow{
			Requested: bundle.Window{From: j.from.UTC(), To: j.to.UTC()},
			Before:    j.ev.Time.Sub(j.from).String(),
			After:     j.to.Sub(j.ev.Time).String(),
		},
		Capture: bundle.ManifestCapture{
			File:         captureName,
			Packets:      st.Packets,
			TriggerNote:  sum.note,
			OutOfOrder:   st.OutOfOrder,
			TornSegments: st.Torn,
			Unreadable:   st.Unreadable,
		},
		Freeze: bundle.ManifestFreeze{
			At: j.freeze.At.UTC(), DurationMS: ms(j.freeze.Duration), Method: j.freeze.Method,
			RingBytes: j.ring.Bytes, RingSegs: j.ring.Segments,
		},
		ClockSteps:   j.manifestSteps(),
		ConfigDigest: j.set.digest,
		Collectors:   results,
	}
	if s.opts.Peers != nil {
		m.Peers = s.opts.Peers(j.ev)
	}
	if st.Packets > 0 {
		m.Window.FirstPacket = timePtr(time.Unix(0, st.First).UTC())
		m.Window.LastPacket = timePtr(time.Unix(0, st.Last).UTC())
	}
	if st.Trigger > 0 {
		m.Capture.TriggerPacket = st.Trigger
		m.Capture.TriggerTime = timePtr(time.Unix(0, st.TriggerTime).UTC())
	}
	if !j.ring.FirstPinTime.IsZero() {
		m.Window.OldestSegmentStart = timePtr(j.ring.FirstPinTime.UTC())
	}
	if !j.endedEarly.IsZero() {
		m.Window.EndedEarly = timePtr(j.endedEarly.UTC())
	}
	m.Window.ShortBy, m.Window.Note = s.shortBy(j)
	if len(m.ClockSteps) > 0 {
		note := fmt.Sprintf("the wall clock stepped %d time(s) within the window (see clock_steps; first %s at %s): the window was chosen on arpbox's monotonic timeline, and packet times in the capture jump there",
			len(m.ClockSteps), m.ClockSteps[0].Step, rfc(m.ClockSteps[0].At))
		m.Window.Note = strings.TrimPrefix(m.Window.Note+"; "+note, "; ")
		s.log.Warn("the wall clock stepped within the snapshot's window", "id", j.id, "steps", len(m.ClockSteps), "first_step", m.ClockSteps[0].Step)
	}
	if m.Window.ShortBy != "" {
		s.log.Warn("the ring did not hold the whole window before the trigger", "id", j.id, "short_by", m.Window.ShortBy, "note", m.Window.Note)
	}

	seen := map[string]bool{}
	for i, in := range sum.ifaces {
		seen[in.Name] = true
		mi := bundle.ManifestIface{
			Name: in.Name, Description: in.Description, Filter: in.Filter, OS: in.OS,
			InCapture: true, Packets: st.PerIface[i], DropsKind: sum.drops[i].Kind,
		}
		for _, c := range j.set.interfaces {
			mi.Configured = mi.Configured || c == in.Name
		}
		d := sum.drops[i]
		if d.HasDrop {
			mi.Dropped = u64Ptr(d.Dropped)
		}
		if d.HasRecv {
			mi.Received = u64Ptr(d.Received)
		}
		if !d.From.IsZero() {
			mi.DropsFrom = timePtr(d.From)
		}
		if !d.To.IsZero() {
			mi.DropsTo = timePtr(d.To)
		}
		m.Interfaces = append(m.Interfaces, mi)
	}
	for _, c := range j.set.interfaces {
		if !seen[c] {
			m.Interfaces = append(m.Interfaces, bundle.ManifestIface{Name: c, Configured: true, DropsKind: "unknown"})
		}
	}
	for _, in := range j.inputs() {
		p := j.pins[in.Seq]
		var size int64
		if fi, err := os.Stat(p.Path); err == nil {
			size = fi.Size()
		}
		m.Segments = append(m.Segments, bundle.ManifestSeg{Name: p.Name, Seq: p.Seq, Bytes: size, Copied: p.Copied})
	}
	return m
}

// shortBy reports how much of [T-before, T] the ring could not provide.
func (s *Snapshotter) shortBy(j *job) (string, string) {
	const tolerance = time.Second
	if j.ring.FirstPinTime.IsZero() {
		return j.set.cfg.Before.String(), "no ring segment overlapped the window before T"
	}
	short := j.ring.firstPinTL.Sub(j.tlFrom)
	if short <= tolerance {
		return "", ""
	}
	span := j.freeze.At.Sub(j.ring.OldestStart)
	note := fmt.Sprintf("the oldest segment in the ring started at %s, %v after T-before: either recording started then, or the ring's retention (max_size, max_segments, min_free) had already pruned older segments",
		rfc(j.ring.FirstPinTime), short.Round(time.Millisecond))
	if span > 0 && j.ring.Bytes > 0 {
		note += fmt.Sprintf("; the ring held %d bytes in %d segments covering %v, so at the rate it sees it holds about that much, not %v",
			j.ring.Bytes, j.ring.Segments, span.Round(time.Second), j.set.cfg.Before)
	}
	return short.Round(time.Millisecond).String(), note
}

// writeZip packs the bundle dir as <id>/<file> entries into zipPath, via a
// temporary name and a rename.
func writeZip(dir, id, zipPath string) error {
	tmp := filepath.Join(filepath.Dir(zipPath), ".tmp-"+filepath.Base(zipPath))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fileMode)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	zw := zip.NewWriter(f)
	// One compressor for all entries (they are written one after the
	// other): a new one per file would allocate its state each time.
	var fw *flate.Writer
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		if fw == nil {
			var err error
			fw, err = flate.NewWriter(w, flate.BestSpeed)
			return fw, err
		}
		fw.Reset(w)
		return fw, nil
	})
	ents, err := os.ReadDir(dir)
	if err != nil {
		f.Close()
		return err
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		if err := addZipFile(zw, filepath.Join(dir, e.Name()), id+"/"+e.Name()); err != nil {
			f.Close()
			return err
		}
	}
	if err := zw.Close(); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, zipPath); err != nil {
		return err
	}
	return syncDir(filepath.Dir(zipPath))
}

func addZipFile(zw *zip.Writer, path, name string) error {
	in, err := os.Open(path)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	h, err := zip.FileInfoHeader(fi)
	if err != nil {
		return err
	}
	h.Name, h.Method = name, zip.Deflate
	if strings.HasSuffix(name, ".gz") {
		h.Method = zip.Store // compressed already: deflating it again only costs time
	}
	w, err := zw.CreateHeader(h)
	if err != nil {
		return err
	}
	_, err = io.Copy(w, in)
	return err
}
