package ring

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/arpbox/arpbox/internal/pcapng"
)

const (
	// bufSize is the write buffer: large writes, few syscalls.
	bufSize = 512 << 10
	// retryMin and retryMax bound the back-off between attempts to start
	// a segment after a failure.
	retryMin = time.Second
	retryMax = 30 * time.Second
	// logEvery rate-limits logs about disk errors.
	logEvery = 10 * time.Second
	// retentionEvery is how often Tick re-reads free disk space when
	// nothing else is due: min_free yields room to other users of the
	// file system even while the ring is silent. (While it records, every
	// new segment makes room first.)
	retentionEvery = time.Minute
)

// isbLen is the largest interface statistics block written on seal (times
// and counts), reserved per interface in every segment.
var isbLen = pcapng.Stats{Has: sealStats | pcapng.HasReceived | pcapng.HasDropped}.StatsLen()

// sealStats are the statistics fields written on seal without counts.
const sealStats = pcapng.HasStartTime | pcapng.HasEndTime

// Options are the Writer's collaborators. All fields are optional.
type Options struct {
	Logger *slog.Logger     // nil = discard
	Now    func() time.Time // wall clock for segment names; nil = time.Now
	// Stats returns the cumulative received and dropped counts of the
	// interface with the given index; written to the statistics block of
	// each interface when a segment is sealed. nil = no counts.
	Stats    func(iface int) (received, dropped uint64)
	Hostname string // named in each section header; "" = os.Hostname()
	Version  string // arpbox version, written as shb_userappl "arpbox <Version>"
	OS       string // shb_os, e.g. "Linux 6.1.0-18-amd64"; "" = HostInfo().OS
	Hardware string // shb_hardware, e.g. the CPU model; "" = HostInfo().Hardware
	Comment  string // the section comment; "" = "captured on host <Hostname>"
	// Reorder, when positive, holds the frames of several interfaces up to
	// this long to write them in time order (see order.go): for live
	// capture, the longest a frame can reach the Writer after a newer one
	// from another interface (the capture's hold and a batch's age).
	Reorder time.Duration
	// PacketClock, when set, puts the Writer on the packets' clock for
	// recording a capture file, starting at this time (the file's first
	// packet): segment names, rotation by age and statistics times follow
	// the packets' timestamps, not the wall clock (see packetclock.go).
	PacketClock time.Time
	// Mono is a monotonic clock (any origin) beside Now; a difference
	// between the two that grows by more than ClockStepMin between two
	// readings is a step of the wall clock. nil = the monotonic reading
	// of Now (time.Now has one; a fake clock then never steps).
	Mono func() time.Duration
	// Reclaim, if set, is asked to release hard links it holds to sealed
	// segments (a failed snapshot's kept window) when the ring cannot
	// make room because every segment it could prune is held that way.
	// It reports whether it released anything. Called by the owner
	// goroutine; it must not call the Writer.
	Reclaim func() bool
}

// Stats are cumulative counters of a Writer.
type Stats struct {
	PacketsWritten uint64 // packets accepted into a segment
	BytesWritten   uint64 // bytes accepted into segments (blocks, headers included)
	PacketsDropped uint64 // packets lost to disk errors (not stored, or lost with a failed segment)
	SegmentsSealed uint64 // segments sealed (by rotation, close, or after a write error)
	SegmentsPruned uint64 // segments removed by retention
	OutOfOrder     uint64 // packets written older than one written before (several interfaces; see order.go)
	WriteErrors    uint64 // failed creates, writes, flushes, syncs, renames
	DiskFull       uint64 // write errors that were "no space left" (or quota)
	Segments       int    // segments on disk now, current included
	RingBytes      int64  // bytes of those segments, current included (buffered data counted)
	HeldBytes      int64  // bytes of sealed segments that retention for free space found held by other links (a snapshot) when it last looked
	// DirRecreated counts the times the ring directory was found removed
	// (or replaced) under the writer and was recreated, with a new lock.
	// The current segment is saved into the new directory where the
	// platform allows (Linux), else its packets count as dropped; the
	// sealed segments that went with the directory count as SegmentsLost.
	DirRecreated uint64
	SegmentsLost uint64
	ClockSteps   uint64 // steps of the wall clock detected (see ClockRecord)
	Current      string `json:",omitempty"` // file name of the current segment; "" when none is open
}

// Writer writes frames into the ring directory: a current segment
// (name ending in .part) that is sealed and renamed on rotation, and sealed
// segments that retention removes oldest first.
//
// A Writer has a single owner goroutine: Open, WritePacket, Tick, NextTick,
// Drained, Flush, Rotate and Close must not be called concurrently (a mutex may stand
// in for the owner). Stats may be called from any goroutine. The owner calls
// Tick when NextTick says timed work is due: flushing, age rotation and
// retention happen there, not on packet arrival, so an owner that flushes
// after each burst of packets sleeps for seconds at a time.
// Open starts one helper goroutine that fsyncs and renames sealed segments
// so that the owner never waits for the disk; Close stops it.
//
// Crash safety: packets reach the file (the page cache) at least every
// FlushInterval, so a crash of the process loses at most about that much;
// sealed segments are fsynced before they get their sealed name.
//
// Disk errors do not stop the Writer. A segment whose write fails is cut
// back to its last complete block and sealed, retention prunes harder when
// the disk is full, packets are dropped and counted until a new segment can
// be started (retried from Tick), and the error is logged (rate-limited).
type Writer struct {
	cfg      Config
	ifaces   []Interface
	opts     Options
	log      *slog.Logger
	now      func() time.Time
	diskFree func(dir string) (free, total uint64, err error)

	buf      []byte // blocks not yet written to the current file; cap bufSize
	cur      *segment
	reserve  int64 // room kept for the statistics blocks written on seal
	hostname string
	host     Host      // shb_hardware, shb_os and the default if_os; filled on the first segment
	pnow     time.Time // the packet clock: the latest packet written (Options.PacketClock)
	ord      *orderer  // the reorder buffer of several interfaces (order.go); nil for one
	// ifWritten counts the packets written per interface since Open: a
	// floor for the received count of the statistics blocks.
	ifWritten []uint64

	seq          uint64     // sequence number of the next segment
	sealed       []*ringSeg // oldest first
	pending      []*ringSeg // sealed segments the sealer has not been reaped for
	jobs         chan *sealJob
	sealerExited chan struct{}
	sealedBytes  int64
	retryAt      time.Time // when to try starting a segment again
	reapAt       time.Time // when Tick next looks whether pending seals finished
	lastTick     time.Time // when Tick last ran (retention included)
	backoff      time.Duration
	opened       bool
	openedAt     time.Time // isb_starttime: the counters are cumulative since then
	closed       bool
	lastErrLog   time.Time
	suppressed   int
	freeErrLog   bool
	lockF        *os.File    // the directory lock, held open; nil when not held
	lockInfo     os.FileInfo // identity of the lock file, to notice the directory going away
	dirw         *dirWatch   // events on the directory and the lock file; nil: look every FlushInterval
	dirChecked   time.Duration
	heldLog      time.Time
	mono         func() time.Duration
	clk          clockSample
	offset       time.Duration // wall clock minus the writer's timeline
	recreating   bool

	st  Stats
	mu  sync.Mutex
	pub Stats
	// pubWritten and pubMono are st.PacketsWritten and the monotonic
	// clock when st was last published: packets written since then make
	// a Tick due within FlushInterval of it (NextTick), so Stats stays
	// live under traffic that never lets the owner drain.
	pubWritten uint64
	pubMono    time.Duration
}

// segment is the current segment.
type segment struct {
	f         *os.File
	written   int64 // bytes written to f (whole blocks unless a write failed)
	path      string
	seq       uint64
	start     time.Time
	named     time.Time // the start it is named with: start, or the packet clock then
	oldest    time.Time // oldest packet timestamp written (zero: none yet)
	packets   uint64
	lastFlush time.Time
}

// nameStart is the start a sealed segment is named with: when it was
// opened, or its oldest packet if that is earlier (frames that waited in a
// stalled pipeline), so that window selection by name never misses them.
func (s *segment) nameStart() time.Time {
	if !s.oldest.IsZero() && s.oldest.Before(s.named) {
		return s.oldest
	}
	return s.named
}

func (w *Writer) unlockDir() {
	w.dirw.close()
	w.dirw = nil
	if w.lockF != nil {
		_ = w.lockF.Close()
		w.lockF, w.lockInfo = nil, nil
	}
}

// lockRing takes the ring directory's lock and remembers the lock file's
// identity.
func (w *Writer) lockRing() error {
	f, err := lockFile(lockPath(w.cfg.Dir))
	if err != nil {
		return fmt.Errorf("ring: lock %s: %w", w.cfg.Dir, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("ring: lock %s: %w", w.cfg.Dir, err)
	}
	w.lockF, w.lockInfo = f, fi
	w.dirw = watchDir(w.cfg.Dir, lockPath(w.cfg.Dir))
	return nil
}

// curSize is the current segment's length including buffered bytes.
func (w *Writer) curSize() int64 { return w.cur.written + int64(len(w.buf)) }

// writeBuf writes the buffer to the current file. The buffer only ever
// holds whole blocks, so the file grows block by block: a reader of the
// .part file sees a torn block only if a write fails part way.
func (w *Writer) writeBuf() error {
	n, err := w.cur.f.Write(w.buf)
	w.cur.written += int64(n)
	w.buf = w.buf[:0]
	return err
}

// room makes room for n more bytes in the buffer, writing it out first
// if needed; a block larger than the buffer gets a buffer of its own.
func (w *Writer) room(n int) error {
	if len(w.buf)+n > cap(w.buf) && len(w.buf) > 0 {
		if err := w.writeBuf(); err != nil {
			return err
		}
	}
	if n > cap(w.buf) { // only with a snaplen above bufSize
		w.buf = make([]byte, 0, n)
	}
	return nil
}

// NewWriter returns a Writer for cfg (zero fields take defaults) that records
// the interfaces ifaces, in that order. It touches nothing; call Open.
func NewWriter(cfg Config, ifaces []Interface, opts Options) *Writer {
	w := &Writer{
		cfg:      cfg.WithDefaults(),
		ifaces:   slicesClone(ifaces),
		opts:     opts,
		log:      opts.Logger,
		now:      opts.Now,
		diskFree: DiskFree,
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	w.log = w.log.With("dir", w.cfg.Dir)
	if w.now == nil {
		w.now = time.Now
	}
	w.mono = opts.Mono
	if w.mono == nil {
		origin := w.now()
		w.mono = func() time.Duration { return w.now().Sub(origin) }
	}
	w.setIfaces(ifaces)
	return w
}

func slicesClone[T any](s []T) []T { return append([]T(nil), s...) }

// Open creates the ring directory, recovers segments left by a previous run
// (each leftover .part is cut back to its last complete block and sealed
// under its final name, or removed when not even its headers survived),
// applies retention and starts the first segment. A full disk is not an
// error here: the Writer retries from Tick.
func (w *Writer) Open() error {
	if w.opened {
		return errors.New("ring: Open called twice")
	}
	if err := w.cfg.Validate(); err != nil {
		return fmt.Errorf("ring config: %w", err)
	}
	if len(w.ifaces) == 0 {
		return errors.New("ring: no interfaces to record")
	}
	if err := os.MkdirAll(w.cfg.Dir, 0o750); err != nil {
		return fmt.Errorf("ring: create %s: %w", w.cfg.Dir, err)
	}
	if err := w.lockRing(); err != nil {
		return err
	}
	w.hostname = w.opts.Hostname
	if w.hostname == "" {
		w.hostname, _ = os.Hostname()
	}
	segs, err := List(w.cfg.Dir)
	if err != nil {
		w.unlockDir()
		return err
	}
	for _, s := range segs {
		w.seq = max(w.seq, s.Seq+1)
		if s.Current {
			w.recoverPart(s)
		}
	}
	if segs, err = List(w.cfg.Dir); err != nil {
		w.unlockDir()
		return err
	}
	for _, s := range segs {
		if s.Current {
			continue // could not be recovered; logged
		}
		w.sealed = append(w.sealed, &ringSeg{Segment: s})
		w.sealedBytes += s.Size
	}
	w.buf = make([]byte, 0, bufSize)
	w.opened = true
	w.openedAt = w.now()
	w.startSealer()
	now := w.now()
	w.lastTick = now
	w.clk = clockSample{wall: now.Round(0), mono: w.mono()}
	w.dirChecked = w.clk.mono
	w.startClockRecord(now, segs)
	w.enforce(now)
	if err := w.start(now); err != nil && !isDiskFull(err) {
		w.closed = true
		w.stopSealer()
		w.unlockDir()
		return err
	}
	w.publish()
	w.log.Info("ring: opened", "sealed_segments", len(w.sealed), "sealed_bytes", w.sealedBytes,
		"segment_size", w.cfg.SegmentBytes, "segment_duration", w.cfg.SegmentAge, "max_size", w.cfg.MaxBytes)
	return nil
}

// recoverPart repairs a .part left by a crash and seals it, with the end
// time taken from the file's modification time (or its last packet, if
// later).
func (w *Writer) recoverPart(s Segment) {
	log := w.log.With("file", filepath.Base(s.Path))
	var mtime time.Time
	if st, err := os.Stat(s.Path); err == nil {
		mtime = st.ModTime()
	}
	res, err := repairFile(s.Path)
	if err != nil && !errors.Is(err, ErrNotPcapng) {
		log.Warn("ring: cannot repair leftover segment; leaving it", "err", err)
		return
	}
	if !res.Usable() {
		log.Warn("ring: removing leftover segment without a complete header", "bytes", s.Size)
		if err := os.Remove(s.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			log.Warn("ring: remove unusable segment", "err", err)
		}
		return
	}
	end := mtime
	if last := time.Unix(0, res.LastTimestamp); res.LastTimestamp != 0 && last.After(end) {
		end = last
	}
	if end.Before(s.Start) {
		end = s.Start
	}
	final := filepath.Join(w.cfg.Dir, sealedName(s.Seq, s.Start, end))
	if err := os.Rename(s.Path, final); err != nil {
		log.Warn("ring: seal leftover segment", "err", err)
		return
	}
	_ = syncDir(w.cfg.Dir)
	log.Info("ring: recovered segment from previous run", "sealed_as", filepath.Base(final),
		"packets", res.Packets, "bytes", res.Valid, "cut_bytes", s.Size-res.Valid)
}

// writePacket is WritePacket (order.go) past the reorder buffer.
func (w *Writer) writePacket(iface int, ts time.Time, wireLen int, data []byte) error {
	if uint(iface) >= uint(len(w.ifaces)) {
		return fmt.Errorf("ring: write packet: interface index %d out of range (%d interfaces)", iface, len(w.ifaces))
	}
	if w.cur == nil {
		if !w.opened || w.closed {
			return ErrClosed
		}
		w.st.PacketsDropped++
		return nil
	}
	w.advanceClock(ts)
	blockLen := pcapng.PacketLen(len(data), "")
	if w.cur.packets > 0 && w.curSize()+int64(blockLen)+w.reserve > w.cfg.SegmentBytes || w.packetAged(ts) {
		w.rotate(w.now(), false)
		if w.cur == nil {
			w.st.PacketsDropped++
			return nil
		}
	}
	if len(w.buf)+blockLen > cap(w.buf) {
		if err := w.room(blockLen); err != nil {
			w.st.PacketsDropped++
			w.fail(w.now(), "write packets", err)
			return nil
		}
	}
	if w.cur.oldest.IsZero() || ts.Before(w.cur.oldest) {
		w.cur.oldest = ts
	}
	w.buf = pcapng.AppendPacket(w.buf, iface, ts.UnixNano(), wireLen, data, "")
	w.cur.packets++
	w.ifWritten[iface]++
	w.st.PacketsWritten++
	w.st.BytesWritten += uint64(blockLen)
	return nil
}

// Tick does the timed work due at now (the wall clock; see NextTick): it
// flushes buffered packets to the file at least every FlushInterval,
// rotates a segment older than SegmentAge (whether or not packets arrive),
// applies retention, and retries starting a segment after a disk error.
// Calling it early is harmless. Disk errors are handled inside; it returns
// ErrClosed when the Writer is not open.
func (w *Writer) Tick(now time.Time) error {
	if !w.opened || w.closed {
		return ErrClosed
	}
	_ = w.reapPending(false) // errors logged and counted
	if len(w.pending) > 0 {
		w.reapAt = now.Add(w.cfg.FlushInterval)
	}
	w.checkDir(now, true)
	w.checkClock(now)
	w.release(now, false)
	if w.cur != nil {
		age := now.Sub(w.cur.start)
		switch {
		case !w.packetClock() && (age >= w.cfg.SegmentAge || age < -TimestampSlack): // old, or the clock stepped back
			w.rotate(now, false)
		case now.Sub(w.cur.lastFlush) >= w.cfg.FlushInterval || now.Before(w.cur.lastFlush):
			w.flush(now)
		}
	}
	w.enforce(now)
	if w.cur == nil && !now.Before(w.retryAt) {
		_ = w.start(now) // failure logged and counted; retried later
	}
	w.lastTick = now
	w.publish()
	return nil
}

// NextTick returns when Tick next has work, as of now: the flush of
// buffered packets, the current segment's age rotation, a retry to start a
// segment, a background seal to account for, counters to publish (packets
// written since Stats was last refreshed), or the periodic retention
// check, whichever comes first. Each of these is a fixed time, not one
// relative to now: an owner that asks after every batch is not put off
// for ever by traffic that keeps coming. Writing packets can make it earlier (the
// buffer fills, a segment is rotated by size, a disk error drops one), so
// an owner sleeping until NextTick asks again after writing. The zero Time
// means never (the Writer is not open).
func (w *Writer) NextTick(now time.Time) time.Time {
	if !w.opened || w.closed {
		return time.Time{}
	}
	next := w.lastTick.Add(retentionEvery)
	if now.Before(w.lastTick) { // the clock stepped back
		next = now
	}
	if len(w.pending) > 0 {
		next = earliest(next, w.reapAt)
	}
	if w.st.PacketsWritten != w.pubWritten {
		next = earliest(next, now.Add(w.pubMono+w.cfg.FlushInterval-w.mono()))
	}
	if w.cur == nil {
		// The retry to start a segment, at most once per retryMin even
		// when pruning made room at once (a disk another process keeps
		// filling must not have the ring deleted back to back).
		retry := w.retryAt
		if paced := w.lastTick.Add(retryMin); retry.Before(paced) {
			retry = paced
		}
		return earliest(next, retry)
	}
	if !w.packetClock() {
		next = earliest(next, w.cur.start.Add(w.cfg.SegmentAge))
	}
	if due := w.orderDue(); !due.IsZero() {
		next = earliest(next, due)
	}
	if len(w.buf) > 0 {
		next = earliest(next, w.cur.lastFlush.Add(w.cfg.FlushInterval))
	}
	return next
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// Flush writes buffered packets to the current segment's file now (without
// fsync), so that a reader of the .part file sees them, followed by a
// statistics block per interface with the counters as of now (see
// checkpoint) when Options.Stats is set.
func (w *Writer) Flush() error {
	if !w.opened || w.closed {
		return ErrClosed
	}
	now := w.now()
	w.checkDir(now, false)
	w.checkClock(now)
	w.release(time.Time{}, true)
	if w.cur != nil {
		w.checkpoint(now)
		w.flush(now)
	}
	w.publish()
	return nil
}

// Drained tells the Writer that its sources have nothing more waiting (they
// are about to sleep): buffered packets are written to the file now, so
// sparse traffic needs no timer to reach the disk. Under load sources
// drain many times a second; within half a FlushInterval of the last flush
// it leaves the packets to the timed flush (NextTick), sparing a small
// write per drain.
func (w *Writer) Drained(now time.Time) {
	if !w.opened || w.closed {
		return
	}
	w.release(now, false)
	if w.checkDir(now, false) {
		w.publish() // recreated: Stats says so even when nothing is flushed
	}
	if w.cur == nil || len(w.buf) == 0 {
		return
	}
	if d := now.Sub(w.cur.lastFlush); d >= 0 && d < w.cfg.FlushInterval/2 {
		return
	}
	w.checkClock(now)
	if w.cur == nil {
		return
	}
	w.flush(now)
	w.publish()
}

// Rotate seals the current segment and starts the next one. When it
// returns, the sealed segment has its final name (rotations by size and age
// finish sealing in the background).
func (w *Writer) Rotate() error {
	if !w.opened || w.closed {
		return ErrClosed
	}
	w.release(time.Time{}, true)
	w.rotate(w.now(), true)
	w.publish()
	return nil
}

// Close seals the current segment and waits until every sealed segment has
// its final name. The Writer cannot be used afterwards.
func (w *Writer) Close() error {
	if !w.opened || w.closed {
		return nil
	}
	var err error
	w.release(time.Time{}, true)
	if w.cur != nil {
		err = w.seal(w.now(), false)
	}
	w.stopSealer()
	if rerr := w.reapPending(true); err == nil {
		err = rerr
	}
	w.unlockDir()
	w.closed = true
	w.publish()
	return err
}

// Stats returns the counters as of the last call to Tick, Drained, Flush,
// Rotate, Open or Close. Safe for concurrent use.
func (w *Writer) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pub
}

func (w *Writer) publish() {
	w.pubWritten, w.pubMono = w.st.PacketsWritten, w.mono()
	st := w.st
	st.Segments = len(w.sealed)
	st.RingBytes = w.sealedBytes
	if w.cur != nil {
		st.Segments++
		st.RingBytes += w.curSize()
		st.Current = filepath.Base(w.cur.path)
	}
	w.mu.Lock()
	w.pub = st
	w.mu.Unlock()
}

func (w *Writer) flush(now time.Time) {
	if len(w.buf) > 0 {
		if err := w.writeBuf(); err != nil {
			w.fail(now, "flush", err)
			return
		}
	}
	w.cur.lastFlush = now
}

func (w *Writer) rotate(now time.Time, wait bool) {
	if w.cur != nil {
		_ = w.seal(now, wait) // failure handled by fail
	}
	w.enforce(now)
	if w.cur == nil && !now.Before(w.retryAt) {
		_ = w.start(now)
	}
}

// start creates the current segment and writes its headers.
func (w *Writer) start(now time.Time) error {
	if w.lockF == nil { // lost with a removed directory and not retaken yet
		if err := w.relock(); err != nil {
			w.failStart(now, err)
			return err
		}
	}
	w.ensureRoom(now)
	seq := w.seq
	w.seq++
	path := filepath.Join(w.cfg.Dir, partName(seq, w.nameTime(now)))
	f, err := createSegment(path)
	if errors.Is(err, fs.ErrNotExist) && !w.recreating && w.dirGone() {
		w.recreate(now) // starts the segment itself
		if w.cur != nil {
			return nil
		}
		return fmt.Errorf("ring: create segment %s: %w", path, err)
	}
	if err != nil {
		w.failStart(now, fmt.Errorf("ring: create segment %s: %w", path, err))
		return err
	}
	s := &segment{f: f, path: path, seq: seq, start: now, named: w.nameTime(now), lastFlush: now}
	w.buf = w.buf[:0]
	w.cur = s
	if err := w.writeHeaders(); err != nil {
		w.fail(now, "write headers", err)
		return err
	}
	if err := w.writeBuf(); err != nil {
		w.fail(now, "write headers", err)
		return err
	}
	w.backoff = 0
	return nil
}

func (w *Writer) writeHeaders() error {
	app := "arpbox"
	if w.opts.Version != "" {
		app += " " + w.opts.Version
	}
	host := w.hostInfo()
	sec := pcapng.Section{Hardware: host.Hardware, OS: host.OS, UserAppl: app}
	if sec.Comment = w.opts.Comment; sec.Comment == "" && w.hostname != "" {
		sec.Comment = "captured on host " + w.hostname
	}
	if err := w.room(sec.SectionLen()); err != nil {
		return err
	}
	w.buf = pcapng.AppendSection(w.buf, sec)
	for _, ifc := range w.ifaces {
		ngi := ngInterface(ifc)
		if ngi.OS == "" && !w.packetClock() {
			ngi.OS = host.OS
		}
		if err := w.room(ngi.InterfaceLen()); err != nil {
			return err
		}
		w.buf = pcapng.AppendInterface(w.buf, ngi)
	}
	return nil
}

func ngInterface(ifc Interface) pcapng.Interface {
	lt := ifc.LinkType
	if lt == 0 {
		lt = pcapng.LinkTypeEthernet
	}
	return pcapng.Interface{
		Name:        ifc.Name,
		Description: ifc.Description,
		Filter:      ifc.Filter,
		OS:          ifc.OS,
		LinkType:    lt,
		SnapLen:     uint32(max(ifc.SnapLen, 0)),
	}
}

// seal writes the statistics blocks and the buffer to the current segment
// and hands it to the sealer to sync and rename (waiting for that if wait).
func (w *Writer) seal(now time.Time, wait bool) error {
	s := w.cur
	if err := w.appendStats(now); err != nil {
		return w.fail(now, "write statistics", err)
	}
	if err := w.writeBuf(); err != nil {
		return w.fail(now, "flush", err)
	}
	w.cur = nil
	rs := w.addSealed(s, now, s.written)
	w.log.Debug("ring: sealing segment", "file", filepath.Base(rs.Path), "packets", s.packets, "bytes", s.written)
	rs.job = &sealJob{f: s.f, part: s.path, final: rs.Path, done: make(chan struct{})}
	if len(w.pending) == 0 {
		w.reapAt = now.Add(w.cfg.FlushInterval)
	}
	w.pending = append(w.pending, rs)
	w.jobs <- rs.job
	if wait {
		<-rs.job.done
		return w.reap(rs)
	}
	return nil
}

// addSealed adds a segment to the list of sealed segments under its sealed
// name.
func (w *Writer) addSealed(s *segment, end time.Time, size int64) *ringSeg {
	end = w.sealTime(s, end)
	rs := &ringSeg{Segment: Segment{
		Path: filepath.Join(w.cfg.Dir, sealedName(s.seq, s.nameStart(), end)),
		Seq:  s.seq, Start: s.nameStart().UTC().Truncate(time.Millisecond),
		End: end.UTC().Truncate(time.Millisecond), Size: size,
	}}
	w.sealed = append(w.sealed, rs)
	w.sealedBytes += size
	w.st.SegmentsSealed++
	return rs
}

// renameNow seals a closed segment in the owner goroutine (after a write
// error, when the file was cut back to its last complete block).
func (w *Writer) renameNow(s *segment, end time.Time, size int64) {
	rs := w.addSealed(s, end, size)
	if err := os.Rename(s.path, rs.Path); err != nil {
		// Whole under the .part name; the next Open seals it.
		rs.Path = s.path
		w.st.WriteErrors++
		w.logErr(end, "ring: seal segment", fmt.Errorf("ring: seal segment %s: %w", s.path, err))
		return
	}
	if err := syncDir(w.cfg.Dir); err != nil {
		w.logErr(end, "ring: sync directory", err)
	}
}

// fail handles a write error in the current segment: the file is cut back
// to its last complete block and sealed (or removed if it holds no packets),
// and a full disk makes retention prune harder. It returns the error.
func (w *Writer) fail(now time.Time, op string, err error) error {
	s := w.cur
	w.cur = nil
	err = fmt.Errorf("ring: %s to %s: %w", op, s.path, err)
	w.st.WriteErrors++
	full := isDiskFull(err)
	if full {
		w.st.DiskFull++
	}
	w.logErr(now, "ring: segment write failed; sealing what is on disk", err)
	_ = s.f.Close()
	w.buf = w.buf[:0]
	res, rerr := repairFile(s.path)
	if rerr == nil && res.Packets < s.packets {
		w.st.PacketsDropped += s.packets - res.Packets
	} else if rerr != nil {
		w.st.PacketsDropped += s.packets
	}
	if rerr != nil || !res.Usable() || res.Packets == 0 {
		if rmErr := os.Remove(s.path); rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) {
			w.logErr(now, "ring: remove failed segment", rmErr)
		}
	} else {
		w.renameNow(s, now, res.Valid)
	}
	w.scheduleRetry(now)
	if full && w.pruneHard(now) {
		w.retryAt = now // room was made: start again right away
	}
	return err
}

// failStart handles a failure to create a segment file.
func (w *Writer) failStart(now time.Time, err error) {
	w.st.WriteErrors++
	full := isDiskFull(err)
	if full {
		w.st.DiskFull++
	}
	w.logErr(now, "ring: cannot start segment", err)
	w.scheduleRetry(now)
	if full {
		w.pruneHard(now)
	}
}

func (w *Writer) scheduleRetry(now time.Time) {
	w.backoff = min(max(2*w.backoff, retryMin), retryMax)
	w.retryAt = now.Add(w.backoff)
}

// logErr logs disk errors at most once per logEvery, counting the rest.
func (w *Writer) logErr(now time.Time, msg string, err error) {
	if !w.lastErrLog.IsZero() && now.Sub(w.lastErrLog) < logEvery && !now.Before(w.lastErrLog) {
		w.suppressed++
		return
	}
	w.log.Error(msg, "err", err, "suppressed", w.suppressed, "disk_full_total", w.st.DiskFull)
	w.lastErrLog = now
	w.suppressed = 0
}
