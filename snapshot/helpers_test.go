package snapshot

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/arpbox/arpbox/bundle"
	"github.com/arpbox/arpbox/ring"
)

// t0 is the base of every test timeline.
var t0 = time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// arpFrame is a who-has from 10.206.<iface>.1 whose target hardware address
// carries id, so tests can tell packets apart.
func arpFrame(iface int, id uint32) []byte {
	f := make([]byte, 42)
	copy(f[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(f[6:12], []byte{0x02, 0, 0, 0, byte(iface), 1})
	binary.BigEndian.PutUint16(f[12:14], 0x0806)
	binary.BigEndian.PutUint16(f[14:16], 1)      // ethernet
	binary.BigEndian.PutUint16(f[16:18], 0x0800) // ipv4
	f[18], f[19] = 6, 4
	binary.BigEndian.PutUint16(f[20:22], 1) // request
	copy(f[22:28], f[6:12])
	copy(f[28:32], []byte{10, 206, byte(iface), 1})
	binary.BigEndian.PutUint32(f[34:38], id) // target MAC 00:00:<id>
	copy(f[38:42], []byte{10, 206, byte(iface), 2})
	return f
}

func frameID(f []byte) uint32 { return binary.BigEndian.Uint32(f[34:38]) }

// testRing drives a real ring.Writer with a fake clock.
type testRing struct {
	t   testing.TB
	dir string
	clk *fakeClock
	w   *ring.Writer
	mu  sync.Mutex
	rx  []uint64
	dr  []uint64
}

func newTestRing(t testing.TB, dir string, ifaces []string, start time.Time) *testRing {
	t.Helper()
	r := &testRing{t: t, dir: dir, clk: &fakeClock{t: start}, rx: make([]uint64, len(ifaces)), dr: make([]uint64, len(ifaces))}
	var ri []ring.Interface
	for _, n := range ifaces {
		ri = append(ri, ring.Interface{Name: n, Filter: "arp", OS: "Linux"})
	}
	r.w = ring.NewWriter(ring.Config{Dir: dir, SegmentBytes: 4 << 30, SegmentAge: 1000 * time.Hour, MaxBytes: 1 << 40}, ri, ring.Options{
		Now:      r.clk.Now,
		Hostname: "testhost",
		Version:  "test",
		Stats: func(i int) (uint64, uint64) {
			r.mu.Lock()
			defer r.mu.Unlock()
			return r.rx[i], r.dr[i]
		},
	})
	if err := r.w.Open(); err != nil {
		t.Fatalf("open ring: %v", err)
	}
	// Closed before t.TempDir's cleanup (Windows cannot remove the open
	// lock file); a test that closed it already makes this a no-op.
	t.Cleanup(func() { _ = r.w.Close() })
	return r
}

func (r *testRing) packet(iface int, ts time.Time, id uint32) {
	r.t.Helper()
	f := arpFrame(iface, id)
	if err := r.w.WritePacket(iface, ts, len(f), f); err != nil {
		r.t.Fatalf("write packet: %v", err)
	}
	r.mu.Lock()
	r.rx[iface]++
	r.mu.Unlock()
}

func (r *testRing) drop(iface int, n uint64) {
	r.mu.Lock()
	r.dr[iface] += n
	r.mu.Unlock()
}

// rotate seals the current segment at wall time now and starts the next.
func (r *testRing) rotate(now time.Time) {
	r.t.Helper()
	r.clk.Set(now)
	if err := r.w.Rotate(); err != nil {
		r.t.Fatalf("rotate: %v", err)
	}
}

func (r *testRing) flush() {
	r.t.Helper()
	if err := r.w.Flush(); err != nil {
		r.t.Fatalf("flush: %v", err)
	}
}

func (r *testRing) close(now time.Time) {
	r.clk.Set(now)
	r.w.Close()
}

// runSnapshot runs a Snapshotter for one request and returns its result.
func runSnapshot(t testing.TB, cfg Config, ringDir string, ev bundle.Event, opts Options) Result {
	t.Helper()
	s, stop := startSnapshotter(t, cfg, ringDir, opts)
	defer stop()
	ch, err := s.Request(ev)
	if err != nil {
		t.Fatalf("Request: %v", err)
	}
	select {
	case res := <-ch:
		return res
	case <-time.After(60 * time.Second):
		t.Fatal("no snapshot result within 60s")
	}
	return Result{}
}

func startSnapshotter(t testing.TB, cfg Config, ringDir string, opts Options) (*Snapshotter, func()) {
	t.Helper()
	if opts.Sleep == nil {
		opts.Sleep = func(ctx context.Context, d time.Duration) error { return ctx.Err() }
	}
	if opts.Hostname == "" {
		opts.Hostname = "testhost"
	}
	if opts.Version == "" {
		opts.Version = "0.0.0-test"
	}
	s := New(cfg, ringDir, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	return s, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

func testConfig(dir string) Config {
	c := DefaultConfig()
	c.Dir = dir
	c.Cooldown = 0
	return c
}

// readPkt is one packet of a written capture, read back with gopacket's
// pcapng reader (an implementation independent of ours).
type readPkt struct {
	TS      time.Time
	Iface   string
	ID      uint32
	Comment string
}

func readCapture(t testing.TB, path string) ([]readPkt, []string, pcapgo.NgSectionInfo) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// The bundle's capture is gzip-compressed; the standard library's
	// reader is the oracle (it reads the two members as one stream).
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	r, err := pcapgo.NewNgReader(zr, pcapgo.NgReaderOptions{})
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	var out []readPkt
	for {
		data, ci, opts, err := r.ReadPacketDataWithOptions()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("read %s: %v", path, err)
		}
		in, _ := r.Interface(ci.InterfaceIndex)
		p := readPkt{TS: ci.Timestamp.UTC(), Iface: in.Name, ID: frameID(data)}
		if len(opts.Comments) > 0 {
			p.Comment = strings.Join(opts.Comments, "|")
		}
		out = append(out, p)
	}
	var names []string
	for i := range r.NInterfaces() {
		in, _ := r.Interface(i)
		names = append(names, in.Name)
	}
	return out, names, r.SectionInfo()
}

// tshark runs tshark and returns its stdout lines; skips if tshark is missing.
func tshark(t testing.TB, args ...string) []string {
	t.Helper()
	p, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("skipping tshark check: tshark not on PATH (CI installs it)")
	}
	cmd := exec.Command(p, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark %v: %v\n%s", args, err, stderr.String())
	}
	s := strings.TrimRight(string(out), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func writeFile(path string, b []byte) error { return os.WriteFile(path, b, 0o644) }
