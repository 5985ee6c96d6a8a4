package ring

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// crashChildEnv names the ring directory of a child writer process: the test
// binary re-executed by TestKill9 to be killed.
const crashChildEnv = "RING_TEST_CRASH_CHILD_DIR"

var crashConfig = Config{
	SegmentBytes:  64 << 10,
	SegmentAge:    time.Second,
	MaxBytes:      1 << 20,
	FlushInterval: 20 * time.Millisecond,
}

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		os.Exit(crashChild(dir))
	}
	os.Exit(m.Run())
}

// crashChild writes packets as fast as it can, with rotation and retention,
// until killed (or for at most 20s).
func crashChild(dir string) int {
	cfg := crashConfig
	cfg.Dir = dir
	w := NewWriter(cfg, testIfaces, Options{Version: "crash-test"})
	if err := w.Open(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("open")
	frame := testFrame(400)
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; ; i++ {
		now := time.Now()
		if now.After(deadline) {
			break
		}
		n := 42 + i%350
		w.WritePacket(i&1, now, n, frame[:n])
		if i%64 == 0 {
			w.Tick(now)
		}
	}
	w.Close()
	return 0
}

// TestKill9 kills a writer process with SIGKILL at random moments (while it
// writes, rotates, prunes, or recovers the previous round's leftovers) and
// checks that sealed segments are always whole, and that after Open every
// file in the ring opens in capinfos.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: -short")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	rnd := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 9))
	for round := range 10 {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Most kills land while the child writes (after it says "open");
		// every fourth at a random moment from its start, which may be
		// while it recovers the previous round's leftovers.
		delay := time.Duration(rnd.IntN(300)) * time.Millisecond
		if round%4 != 3 {
			opened := make(chan struct{})
			go func() {
				b := make([]byte, 5)
				io.ReadFull(stdout, b)
				close(opened)
			}()
			select {
			case <-opened:
			case <-time.After(20 * time.Second):
				t.Errorf("round %d: child did not open the ring within 20s", round)
			}
		}
		time.Sleep(delay)
		cmd.Process.Kill()
		cmd.Wait()
		if s := stderr.String(); s != "" {
			t.Fatalf("round %d: child failed: %s", round, s)
		}
		segs, err := List(dir)
		if err != nil {
			t.Fatal(err)
		}
		var sealed []string
		var size int64
		for _, s := range segs {
			size += s.Size
			if s.Current {
				continue
			}
			sealed = append(sealed, s.Path)
			if n, err := ValidLength(s.Path); err != nil || n != s.Size {
				t.Errorf("round %d (killed after %v): sealed %s: valid %d of %d bytes, %v", round, delay, filepath.Base(s.Path), n, s.Size, err)
			}
		}
		capinfos(t, sealed...)
		if limit := crashConfig.MaxBytes + crashConfig.SegmentBytes; size > limit {
			t.Errorf("round %d: ring holds %d bytes > max_size + one segment (%d)", round, size, limit)
		}
		t.Logf("round %d: killed after %v: %d segments, %d bytes", round, delay, len(segs), size)
	}
	cfg := crashConfig
	cfg.Dir = dir
	w := NewWriter(cfg, testIfaces, Options{})
	if err := w.Open(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	files := segmentFiles(t, dir)
	if len(files) < 3 {
		t.Fatalf("only %d segments after 10 rounds", len(files))
	}
	for _, f := range files {
		if strings.HasSuffix(f, partSuffix) {
			t.Errorf("%s: still a .part after Open and Close", filepath.Base(f))
		}
		readBack(t, f)
	}
	capinfos(t, files...)
	tsharkRead(t, files[0])
}
