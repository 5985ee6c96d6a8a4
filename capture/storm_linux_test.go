package capture

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arpbox/arpbox/internal/nstest"
	"golang.org/x/sys/unix"
)

// BenchmarkLiveStorm measures Live under an ARP storm: cmd/arpstorm (built
// here, run as its own process) sends as fast as it can for 3 s from one
// namespace, Live captures in another, and the consumer releases batches.
// It reports frames captured and dropped and the CPU time this process
// spent per captured frame (Live, the consumer and the Go runtime; the
// kernel charges most receive work to the sender). Needs root:
//
//	go test -run XX -bench LiveStorm -benchtime 1x ./capture
func BenchmarkLiveStorm(b *testing.B) {
	nstest.RequireRoot(b)
	bin := buildArpstorm(b)
	for range b.N {
		ha, hb := nstest.NewHost(b, "sa"), nstest.NewHost(b, "sb")
		la, lb := nstest.Veth(b, ha, "", hb, "")
		logs := newLogWatch(b)
		logs.quiet = true
		l := NewLive(LiveConfig{Iface: lb.Name}, nil)
		ctx, cancel := context.WithCancel(context.Background())
		out := make(chan *Batch, 64)
		errc := make(chan error, 1)
		go func() { errc <- hb.Do(func() error { return l.Run(ctx, toChan(ctx, out)) }) }()
		var frames uint64
		done := make(chan struct{})
		go func() {
			defer close(done)
			for bt := range out {
				frames += uint64(len(bt.Frames))
				bt.Release()
			}
		}()
		time.Sleep(200 * time.Millisecond) // let Run open the socket
		var before, after unix.Rusage
		unix.Getrusage(unix.RUSAGE_SELF, &before)
		sender, err := ha.Run(bin, "-i", la.Name, "-duration", "3s")
		if err != nil {
			b.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
		unix.Getrusage(unix.RUSAGE_SELF, &after)
		cancel()
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
		close(out)
		<-done
		st := l.Stats()
		cpu := time.Duration(after.Utime.Nano()+after.Stime.Nano()-before.Utime.Nano()-before.Stime.Nano()) * time.Nanosecond
		b.Logf("live: sender %s; captured %d, stats %+v, CPU %v (user %v, sys %v)", strings.TrimSpace(sender), frames, st, cpu,
			time.Duration(after.Utime.Nano()-before.Utime.Nano()), time.Duration(after.Stime.Nano()-before.Stime.Nano()))
		tcpdumpStorm(b, ha, hb, la, lb, bin)
		b.ReportMetric(float64(frames), "frames")
		b.ReportMetric(float64(st.Dropped), "dropped")
		if frames > 0 {
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(frames), "cpu-ns/frame")
		}
	}
}

// tcpdumpStorm runs the same storm against tcpdump (same 8 MiB buffer,
// writing to /dev/null) and logs its CPU time per frame, for comparison.
func tcpdumpStorm(b *testing.B, ha, hb *nstest.Host, la, lb *nstest.Link, bin string) {
	if _, err := exec.LookPath("tcpdump"); err != nil {
		b.Log("tcpdump not found; no comparison")
		return
	}
	td := hb.Command(context.Background(), "tcpdump", "-i", lb.Name, "-w", "/dev/null", "-Z", "root", "-B", "8192", "-n", "arp")
	stderr := &lockedBuf{}
	td.Stderr = stderr
	if err := td.Start(); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 100 && !strings.Contains(stderr.String(), "listening on"); i++ {
		time.Sleep(20 * time.Millisecond)
	}
	sender, err := ha.Run(bin, "-i", la.Name, "-duration", "3s")
	if err != nil {
		b.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	td.Process.Signal(os.Interrupt)
	td.Wait()
	ru, _ := td.ProcessState.SysUsage().(*syscall.Rusage)
	if ru == nil {
		return
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	b.Logf("tcpdump: sender %s; %s; CPU %v (user %v, sys %v)", strings.TrimSpace(sender),
		strings.Join(strings.Fields(stderr.String()), " "), cpu, time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano()))
}

func buildArpstorm(b *testing.B) string {
	bin := filepath.Join(b.TempDir(), "arpstorm")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/arpbox/arpbox/cmd/arpstorm").CombinedOutput(); err != nil {
		b.Skipf("skipping: cannot build cmd/arpstorm: %v: %s", err, out)
	}
	return bin
}

// BenchmarkLiveIdle measures Live's CPU time over 10 s of a quiet LAN
// (10 ARP/s): the target is under 5 ms.
//
//	go test -run XX -bench LiveIdle -benchtime 1x ./capture
func BenchmarkLiveIdle(b *testing.B) {
	nstest.RequireRoot(b)
	bin := buildArpstorm(b)
	for range b.N {
		ha, hb := nstest.NewHost(b, "ia"), nstest.NewHost(b, "ib")
		la, lb := nstest.Veth(b, ha, "", hb, "")
		l := NewLive(LiveConfig{Iface: lb.Name}, nil)
		ctx, cancel := context.WithCancel(context.Background())
		out := make(chan *Batch, 64)
		errc := make(chan error, 1)
		var tid int
		go func() {
			errc <- hb.Do(func() error {
				tid = unix.Gettid()
				return l.Run(ctx, toChan(ctx, out))
			})
		}()
		var frames int
		done := make(chan struct{})
		go func() {
			defer close(done)
			for bt := range out {
				frames += len(bt.Frames)
				bt.Release()
			}
		}()
		time.Sleep(200 * time.Millisecond)
		sender := ha.Command(context.Background(), bin, "-i", la.Name, "-rate", "10", "-duration", "11s")
		if err := sender.Start(); err != nil {
			b.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
		var before, after unix.Rusage
		unix.Getrusage(unix.RUSAGE_SELF, &before)
		runBefore := threadCPU(b, tid)
		time.Sleep(10 * time.Second)
		runAfter := threadCPU(b, tid)
		unix.Getrusage(unix.RUSAGE_SELF, &after)
		sender.Wait()
		cancel()
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
		close(out)
		<-done
		cpu := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
		b.Logf("idle 10 s: %d frames; process CPU %v (all threads, whole test binary); Run's thread %v",
			frames, cpu, runAfter-runBefore)
		b.ReportMetric(float64(cpu.Microseconds())/1000, "cpu-ms/10s")
	}
}

// threadCPU is the time thread tid of this process has been on a CPU.
func threadCPU(b *testing.B, tid int) time.Duration {
	raw, err := os.ReadFile("/proc/self/task/" + strconv.Itoa(tid) + "/schedstat")
	if err != nil {
		b.Fatal(err)
	}
	ns, err := strconv.ParseInt(strings.Fields(string(raw))[0], 10, 64)
	if err != nil {
		b.Fatal(err)
	}
	return time.Duration(ns)
}
