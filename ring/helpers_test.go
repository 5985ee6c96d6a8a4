package ring

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"
)

// fakeClock is an injected wall clock.
type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time          { return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.t = c.t.Add(d) }

var t0 = time.Date(2026, 11, 26, 1, 26, 33, 123_000_000, time.UTC)

// testFrame returns an ARP-looking Ethernet frame of n bytes.
func testFrame(n int) []byte {
	f := make([]byte, n)
	for i := range f {
		f[i] = byte(i)
	}
	if n >= 14 {
		copy(f[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
		f[12], f[13] = 0x08, 0x06
	}
	return f
}

var testIfaces = []Interface{
	{Name: "eth1", Description: "uplink", Filter: "arp", OS: "Linux", SnapLen: 262144},
	{Name: "eth2", Filter: "arp or (ether proto 0x86dd)", OS: "Linux", SnapLen: 1500},
}

// newTestWriter opens a writer on a fresh directory with a fake clock and a
// fake disk of unlimited size.
func newTestWriter(t testing.TB, cfg Config, clk *fakeClock) *Writer {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	w := NewWriter(cfg, testIfaces, Options{
		Now:      clk.Now,
		Hostname: "testhost",
		Version:  "test",
		Stats:    func(i int) (uint64, uint64) { return uint64(1000 + i), uint64(i) },
	})
	w.diskFree = func(string) (uint64, uint64, error) { return 1 << 40, 1 << 41, nil }
	if err := w.Open(); err != nil {
		t.Fatalf("Open: %v", err)
	}
	if tt, ok := t.(*testing.T); ok {
		// Whatever the test did, every file it left must open in capinfos.
		tt.Cleanup(func() {
			if _, err := os.Stat(cfg.Dir); err == nil && !tt.Failed() {
				capinfos(tt, segmentFiles(tt, cfg.Dir)...)
			}
		})
	}
	return w
}

// readBack reads a pcapng file with pcapgo and returns its packet count.
func readBack(t testing.TB, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	n := 0
	for {
		_, _, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return n
		}
		if err != nil {
			t.Fatalf("read %s: packet %d: %v", path, n, err)
		}
		n++
	}
}

var toolOnce sync.Map

// haveTool reports whether a tool is on PATH, logging once per test run when
// it is not (the checks that need it are then skipped).
func haveTool(t testing.TB, name string) bool {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if _, loaded := toolOnce.LoadOrStore(name, true); !loaded {
			t.Logf("skipping %s checks: %s not found on PATH (CI installs it)", name, name)
		}
		return false
	}
	return true
}

// capinfos runs capinfos on the files and fails the test if it reports any
// error. Skipped (with a log line) when capinfos is missing.
func capinfos(t testing.TB, paths ...string) {
	t.Helper()
	if len(paths) == 0 || !haveTool(t, "capinfos") {
		return
	}
	for len(paths) > 0 {
		n := min(len(paths), 200)
		out, err := exec.Command("capinfos", append([]string{"-c"}, paths[:n]...)...).CombinedOutput()
		if err != nil || strings.Contains(string(out), "capinfos:") {
			t.Errorf("capinfos: %v\n%s", err, out)
		}
		paths = paths[n:]
	}
}

// tsharkRead runs tshark -r on one file and returns its output.
func tsharkRead(t testing.TB, path string, args ...string) string {
	t.Helper()
	if !haveTool(t, "tshark") {
		return ""
	}
	cmd := exec.Command("tshark", append([]string{"-n", "-r", path}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Errorf("tshark -r %s: %v\n%s", path, err, ee.Stderr)
		} else {
			t.Errorf("tshark -r %s: %v", path, err)
		}
	}
	return string(out)
}

// segmentFiles lists the segment files in dir (all, via List).
func segmentFiles(t testing.TB, dir string) []string {
	t.Helper()
	segs, err := List(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range segs {
		out = append(out, s.Path)
	}
	return out
}

// fileSize is the length of the file at path.
func fileSize(t testing.TB, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// dirBytes sums the sizes of all regular files in dir.
func dirBytes(t testing.TB, dir string) int64 {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, e := range ents {
		info, err := e.Info()
		if err != nil {
			continue
		}
		if info.Mode().IsRegular() {
			n += info.Size()
		}
	}
	return n
}

func baseNames(paths []string) []string {
	var out []string
	for _, p := range paths {
		out = append(out, filepath.Base(p))
	}
	return out
}

// fastTempDir returns a temporary directory on a RAM file system when there
// is one (fsync is free there), for tests that sync thousands of files.
func fastTempDir(t testing.TB) string {
	t.Helper()
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "ringtest"); err == nil {
			t.Cleanup(func() { os.RemoveAll(d) })
			return d
		}
	}
	return t.TempDir()
}

// capinfosOutput returns the full capinfos report of one file.
func capinfosOutput(t testing.TB, path string) []byte {
	t.Helper()
	out, err := exec.Command("capinfos", path).CombinedOutput()
	if err != nil {
		t.Errorf("capinfos %s: %v\n%s", path, err, out)
	}
	return out
}
