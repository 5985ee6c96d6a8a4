package analyze_test

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arpbox/arpbox/analyze"
	at "github.com/arpbox/arpbox/analyze/analyzetest"
)

// TestBenchReport compares the analysis with tshark on a generated 1M-packet
// ARP pcapng of mixed requests and replies, each run as a child process so
// that CPU seconds (user + sys, from rusage) and peak RSS are the process's
// own. The two run alternately, five times each, and the ratio of CPU seconds
// is taken pair by pair: on a shared box the load changes from second to
// second, and a pair sees about the same load. It then runs the analysis
// alone on 10M packets: its peak RSS must not grow with the file. It is slow,
// so it runs only with ABXAN_BENCH=1. With ABXAN_ARPBOX set to a built
// arpbox binary it times "arpbox report -q FILE"; otherwise this test binary
// re-runs itself to analyse the file the same way:
//
//	go build -o /tmp/arpbox ./cmd/arpbox
//	ABXAN_BENCH=1 ABXAN_ARPBOX=/tmp/arpbox go test ./analyze/ -run TestBenchReport -v -timeout 30m
func TestBenchReport(t *testing.T) {
	if p := os.Getenv("ABXAN_BENCH_CHILD"); p != "" {
		benchChild(t, p)
		return
	}
	if os.Getenv("ABXAN_BENCH") != "1" {
		t.Skip("skipping: set ABXAN_BENCH=1 to run the report-vs-tshark benchmark")
	}
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("skipping: tshark not installed")
	}
	dir := t.TempDir()
	ours := func(path string) usage {
		if bin := os.Getenv("ABXAN_ARPBOX"); bin != "" {
			return runChild(t, exec.Command(bin, "report", "-q", path))
		}
		self, _ := os.Executable()
		return runChild(t, exec.Command(self, "-test.run=^TestBenchReport$"), "ABXAN_BENCH_CHILD="+path)
	}

	const n = 1_000_000
	path := filepath.Join(dir, fmt.Sprintf("arp-%d.pcapng", n))
	if err := genCapture(path, n); err != nil {
		t.Fatal(err)
	}
	if gnuTime == "" {
		t.Log("GNU time not installed: peak RSS is ru_maxrss, which includes this test's RSS when the child started")
	}
	t.Logf("%-5s %10s %10s %10s %8s %13s %13s", "pair", "arpbox cpu", "tshark cpu", "ratio", "arpbox Mf/s", "arpbox RSS MB", "tshark RSS MB")
	var ratios []float64
	var best usage
	for i := range 5 {
		a := ours(path)
		b := runChild(t, exec.Command(tshark, "-r", path, "-q", "-z", "io,stat,0"))
		r := b.cpu.Seconds() / a.cpu.Seconds()
		ratios = append(ratios, r)
		if i == 0 || a.cpu < best.cpu {
			best = a
		}
		t.Logf("%-5d %9.3fs %9.3fs %9.1fx %8.2f %13.1f %13.1f", i+1, a.cpu.Seconds(), b.cpu.Seconds(), r,
			n/a.cpu.Seconds()/1e6, float64(a.rss)/1024, float64(b.rss)/1024)
	}
	slices.Sort(ratios)
	median := ratios[len(ratios)/2]
	t.Logf("median CPU ratio tshark/arpbox at %d packets: %.1fx (min %.1fx, max %.1fx); arpbox best %.3fs CPU = %.2f M frames per CPU second",
		n, median, ratios[0], ratios[len(ratios)-1], best.cpu.Seconds(), n/best.cpu.Seconds()/1e6)
	if median < 5 {
		t.Errorf("analysis only %.1fx faster than tshark in CPU seconds at %d packets, want ≥5x (target 20x)", median, n)
	}

	// Peak RSS, 1M against 10M packets: the state is per address, not per frame.
	const big = 10_000_000
	bigPath := filepath.Join(dir, fmt.Sprintf("arp-%d.pcapng", big))
	if err := genCapture(bigPath, big); err != nil {
		t.Fatal(err)
	}
	small, large := ours(path), ours(bigPath)
	os.Remove(bigPath)
	t.Logf("peak RSS: %.1f MB at %d packets, %.1f MB at %d packets (%.2f M frames per CPU second)",
		float64(small.rss)/1024, n, float64(large.rss)/1024, big, big/large.cpu.Seconds()/1e6)
	if large.rss > small.rss*3/2+10*1024 {
		t.Errorf("peak RSS grows with the file: %d kB at %d, %d kB at %d", small.rss, n, large.rss, big)
	}
}

// usage is what a child process cost.
type usage struct {
	wall, cpu time.Duration // cpu = user + sys
	rss       int64         // kB (the child's peak RSS, see runChild)
}

// runChild runs cmd and returns what it cost. The peak RSS is measured by
// GNU time when it is installed: Go starts a child with vfork, and Linux
// counts the memory the parent (this test, which generated the capture)
// had at that moment in the child's ru_maxrss, so ru_maxrss alone cannot
// show the child's own peak. The CPU seconds include time's own (about a
// millisecond).
func runChild(t *testing.T, cmd *exec.Cmd, env ...string) usage {
	t.Helper()
	var rssFile string
	if gnuTime != "" {
		rssFile = filepath.Join(t.TempDir(), "rss")
		cmd = exec.Command(gnuTime, append([]string{"-f", "%M", "-o", rssFile, cmd.Path}, cmd.Args[1:]...)...)
	}
	cmd.Env = append(os.Environ(), env...)
	var errb strings.Builder
	cmd.Stdout, cmd.Stderr = io.Discard, &errb
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, errb.String())
	}
	el := time.Since(start)
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	u := usage{wall: el, cpu: cpu, rss: ru.Maxrss}
	if rssFile != "" {
		b, err := os.ReadFile(rssFile)
		if err != nil {
			t.Fatal(err)
		}
		if u.rss, err = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err != nil {
			t.Fatalf("%s: peak RSS %q: %v", gnuTime, b, err)
		}
	}
	return u
}

// gnuTime is GNU time's path, or "" when it is not installed (the peak RSS
// is then an upper bound, see runChild).
var gnuTime = func() string {
	p, err := exec.LookPath("time")
	if err != nil {
		p = "/usr/bin/time"
	}
	if out, err := exec.Command(p, "--version").CombinedOutput(); err != nil || !strings.Contains(string(out), "GNU") {
		return ""
	}
	return p
}()

func benchChild(t *testing.T, path string) {
	rep, err := analyze.Analyze(context.Background(), []string{path}, analyze.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteText(io.Discard); err != nil {
		t.Fatal(err)
	}
	if rep.Sides[0].Packets == 0 {
		t.Fatal("no packets")
	}
}

// genCapture writes n ARP packets on one /24: 50 askers and 200 other
// addresses, one request per millisecond, mostly answered, about 1% unanswered
// and 0.2% gratuitous. Memory depends on the number of distinct addresses
// (bounded per address), not on the number of packets.
func genCapture(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w, err := at.NewPcapNGWriter(f)
	if err != nil {
		return err
	}
	t := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	ip := func(i int) string { return netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}).String() }
	mac := func(i int) [6]byte { return [6]byte{2, 0, 0, 0, byte(i >> 8), byte(i)} }
	for i := 0; i < n; {
		asker := i % 50
		tgt := 50 + (i*7919)%200
		t = t.Add(time.Millisecond)
		if err := w.WriteFrame(t, at.Request(mac(asker), ip(asker), ip(tgt))); err != nil {
			return err
		}
		i++
		switch {
		case i%97 == 0: // unanswered
		case i%501 == 0:
			w.WriteFrame(t.Add(50*time.Microsecond), at.Gratuitous(mac(tgt), ip(tgt)))
			i++
		default:
			w.WriteFrame(t.Add(120*time.Microsecond), at.Reply(mac(tgt), ip(tgt), mac(asker), ip(asker)))
			i++
		}
	}
	return w.Flush()
}

// BenchmarkAnalyze is the report's analysis in process, on the capture that
// TestBenchReport times against tshark (1M frames; one op is the whole file),
// for profiling:
//
//	go test ./analyze/ -run '^$' -bench BenchmarkAnalyze -benchtime 5x -cpuprofile /tmp/cpu.out
func BenchmarkAnalyze(b *testing.B) {
	const n = 1_000_000
	path := filepath.Join(b.TempDir(), "arp.pcapng")
	if err := genCapture(path, n); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rep, err := analyze.Analyze(context.Background(), []string{path}, analyze.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := rep.WriteText(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mframes/s")
}
