package capture

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arpbox/arpbox/internal/nstest"
	"golang.org/x/sys/unix"
)

// logWatch is a slog handler that lets a test wait for a log message.
type logWatch struct {
	t     testing.TB
	quiet bool
	mu    sync.Mutex
	ch    map[string]chan struct{}
}

func newLogWatch(t testing.TB) *logWatch { return &logWatch{t: t, ch: map[string]chan struct{}{}} }

func (w *logWatch) Enabled(context.Context, slog.Level) bool { return true }
func (w *logWatch) WithAttrs([]slog.Attr) slog.Handler       { return w }
func (w *logWatch) WithGroup(string) slog.Handler            { return w }
func (w *logWatch) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	r.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, " %s=%v", a.Key, a.Value); return true })
	if !w.quiet {
		w.t.Logf("log: %s %s%s", r.Level, r.Message, b.String())
	}
	w.c(r.Message)
	select {
	case <-w.c(r.Message):
	default:
		close(w.c(r.Message))
	}
	return nil
}

func (w *logWatch) c(msg string) chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, ok := w.ch[msg]
	if !ok {
		c = make(chan struct{})
		w.ch[msg] = c
	}
	return c
}

// wait waits up to 5 s for msg to be logged.
func (w *logWatch) wait(msg string) {
	w.t.Helper()
	select {
	case <-w.c(msg):
	case <-time.After(5 * time.Second):
		w.t.Fatalf("no log %q within 5s", msg)
	}
}

// liveRun runs l in host h until the test ends; it returns the channel of
// batches and a function that stops Run and returns its error.
func liveRun(t *testing.T, h *nstest.Host, l *Live, outCap int) (chan *Batch, func() (error, time.Duration)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan *Batch, outCap)
	errc := make(chan error, 1)
	go func() { errc <- h.Do(func() error { return l.Run(ctx, toChan(ctx, out)) }) }()
	var once sync.Once
	var err error
	var took time.Duration
	stop := func() (error, time.Duration) {
		once.Do(func() {
			start := time.Now()
			cancel()
			select {
			case err = <-errc:
				took = time.Since(start)
			case <-time.After(5 * time.Second):
				err, took = fmt.Errorf("Run did not return within 5s of cancel"), 5*time.Second
			}
		})
		return err, took
	}
	t.Cleanup(func() {
		stop()
		for {
			select {
			case b := <-out:
				b.Release()
			default:
				return
			}
		}
	})
	return out, stop
}

// collect reads batches until want says it has enough or timeout passes.
func collect(t *testing.T, out <-chan *Batch, timeout time.Duration, want func([]Frame) bool) []Frame {
	t.Helper()
	var got []Frame
	deadline := time.After(timeout)
	for !want(got) {
		select {
		case b := <-out:
			for _, f := range b.Frames {
				f.Data = bytes.Clone(f.Data)
				got = append(got, f)
			}
			b.Release()
		case <-deadline:
			return got
		}
	}
	return got
}

func etherTypeOf(f []byte) uint16 {
	if len(f) < 14 {
		return 0
	}
	return binary.BigEndian.Uint16(f[12:])
}

func countARPFrom(frames []Frame, mac net.HardwareAddr) int {
	n := 0
	for _, f := range frames {
		if etherTypeOf(f.Data) == etherTypeARP && bytes.Equal(f.Data[6:12], mac) {
			n++
		}
	}
	return n
}

func TestLiveARPOnly(t *testing.T) {
	nstest.RequireRoot(t, "arping", "ping")
	ha, hb := nstest.NewHost(t, "ca"), nstest.NewHost(t, "cb")
	la, lb := nstest.Veth(t, ha, "10.201.1.1/24", hb, "10.201.1.2/24")
	logs := newLogWatch(t)
	l := NewLive(LiveConfig{Iface: lb.Name, Index: 3}, slog.New(logs))
	out, stop := liveRun(t, hb, l, 16)
	logs.wait("capture: started")

	before := time.Now()
	ha.MustRun("arping", "-c", "3", "-w", "0.2", "-i", la.Name, lb.Addr().String())
	ha.MustRun("ping", "-c", "2", "-i", "0.2", "-W", "1", lb.Addr().String())
	ha.MustRun("sh", "-c", "echo hello >/dev/udp/"+lb.Addr().String()+"/9999 || true")
	after := time.Now()
	frames := collect(t, out, blockTimeout+2*time.Second, func(f []Frame) bool { return countARPFrom(f, la.MAC) >= 3 })
	// Wait a little longer for anything that should not be there.
	frames = append(frames, collect(t, out, 300*time.Millisecond, func([]Frame) bool { return false })...)
	if n := countARPFrom(frames, la.MAC); n < 3 {
		t.Fatalf("got %d ARP frames from %s, want at least 3; frames: %d", n, la.MAC, len(frames))
	}
	for i, f := range frames {
		if et := etherTypeOf(f.Data); et != etherTypeARP {
			t.Errorf("frame %d: EtherType %#04x, want only ARP (0x0806)", i, et)
		}
		if f.Length != len(f.Data) || f.Length < 42 {
			t.Errorf("frame %d: Length %d, len(Data) %d, want equal and >= 42", i, f.Length, len(f.Data))
		}
		if f.Time.Before(before.Add(-time.Millisecond)) || f.Time.After(after.Add(time.Millisecond)) {
			t.Errorf("frame %d: Time %v outside the sending window [%v, %v]", i, f.Time, before, after)
		}
	}
	if err, took := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	} else if took > 200*time.Millisecond {
		t.Errorf("Run took %v to return after cancel, want under 200ms", took)
	} else {
		t.Logf("Run returned %v after cancel", took)
	}
	st := l.Stats()
	if st.Received < uint64(countARPFrom(frames, la.MAC)) || st.Dropped != 0 || st.Reopens != 0 {
		t.Errorf("Stats = %+v, want Received >= %d, no drops, no reopens", st, countARPFrom(frames, la.MAC))
	}
}

func TestLiveBatchIface(t *testing.T) {
	nstest.RequireRoot(t, "arping")
	ha, hb := nstest.NewHost(t, "ca"), nstest.NewHost(t, "cb")
	la, lb := nstest.Veth(t, ha, "10.201.2.1/24", hb, "10.201.2.2/24")
	logs := newLogWatch(t)
	l := NewLive(LiveConfig{Iface: lb.Name, Index: 7}, slog.New(logs))
	out, _ := liveRun(t, hb, l, 16)
	logs.wait("capture: started")
	ha.MustRun("arping", "-c", "1", "-w", "0.2", "-i", la.Name, lb.Addr().String())
	select {
	case b := <-out:
		if b.Iface != 7 {
			t.Errorf("Batch.Iface = %d, want 7", b.Iface)
		}
		b.Release()
	case <-time.After(3 * time.Second):
		t.Fatal("no batch within 3s")
	}
}

func TestLiveVLANTagWrittenBack(t *testing.T) {
	nstest.RequireRoot(t)
	ha, hb := nstest.NewHost(t, "ca"), nstest.NewHost(t, "cb")
	la, lb := nstest.Veth(t, ha, "", hb, "")
	logs := newLogWatch(t)
	l := NewLive(LiveConfig{Iface: lb.Name}, slog.New(logs))
	out, _ := liveRun(t, hb, l, 16)
	logs.wait("capture: started")
	// Tagged frames sent raw: the receiving veth strips the outer tag into
	// metadata before AF_PACKET sees the frame (this kernel may lack the
	// 8021q module for a vlan device); Live must put it back, byte for byte.
	// The VLAN TCI carries a priority to show all 16 bits come back.
	tests := []struct {
		name string
		tags [][2]uint16
	}{
		{"802.1Q", [][2]uint16{tagPCP}},
		{"802.1ad", [][2]uint16{tagAD}},
		{"QinQ", [][2]uint16{tagAD, tagQ}},
	}
	for _, tt := range tests {
		frame := arpFrame(tt.tags...)
		copy(frame[6:12], la.MAC)
		sendRaw(t, ha, la.Name, frame, 1)
		sendRaw(t, ha, la.Name, ether(0x0800, ipv4UDPPayload(), tt.tags...), 1)
		frames := collect(t, out, blockTimeout+2*time.Second, func(f []Frame) bool { return len(f) >= 1 })
		frames = append(frames, collect(t, out, 100*time.Millisecond, func([]Frame) bool { return false })...)
		if len(frames) != 1 {
			t.Errorf("%s: got %d frames, want the ARP one only", tt.name, len(frames))
			continue
		}
		if f := frames[0]; !bytes.Equal(f.Data, frame) || f.Length != len(frame) {
			t.Errorf("%s: got Length %d, Data\n% x\nwant Length %d, Data\n% x", tt.name, f.Length, f.Data, len(frame), frame)
		}
	}
}

func TestLiveInterfaceRecreated(t *testing.T) {
	nstest.RequireRoot(t, "arping")
	ha, hb := nstest.NewHost(t, "ca"), nstest.NewHost(t, "cb")
	la, lb := nstest.Veth(t, ha, "10.201.3.1/24", hb, "10.201.3.2/24")
	logs := newLogWatch(t)
	l := NewLive(LiveConfig{Iface: lb.Name}, slog.New(logs))
	out, stop := liveRun(t, hb, l, 16)
	logs.wait("capture: started")
	ha.MustRun("arping", "-c", "1", "-w", "0.2", "-i", la.Name, lb.Addr().String())
	if n := countARPFrom(collect(t, out, blockTimeout+2*time.Second, func(f []Frame) bool { return countARPFrom(f, la.MAC) >= 1 }), la.MAC); n < 1 {
		t.Fatal("no ARP before the interface was deleted")
	}

	// Down and up: same ifindex, the capture stays open. The frames still
	// in the ring block the kernel was filling when the link went down are
	// kept: three requests, then the link goes down well within the block
	// timeout.
	ha.MustRun("arping", "-c", "3", "-W", "0.02", "-i", la.Name, lb.Addr().String())
	hb.MustRun("ip", "link", "set", lb.Name, "down")
	logs.wait("capture: link down; the capture stays open and resumes on link-up")
	if n := countARPFrom(collect(t, out, blockTimeout+2*time.Second, func(f []Frame) bool { return countARPFrom(f, la.MAC) >= 3 }), la.MAC); n < 3 {
		t.Errorf("%d of the 3 requests sent just before the link went down were delivered", n)
	}
	time.Sleep(300 * time.Millisecond)
	hb.MustRun("ip", "link", "set", lb.Name, "up")
	waitARP(t, ha, la, lb.Addr().String(), out)
	if got := l.Stats().Reopens; got != 0 || l.LinkDowns() != 1 {
		t.Errorf("Stats.Reopens = %d, LinkDowns %d after down/up, want 0 and 1 (the socket stays open)", got, l.LinkDowns())
	}

	// Deleted and recreated under the same name: a new ifindex.
	oldIdx := ifindex(t, hb, lb.Name)
	ha.MustRun("ip", "link", "del", la.Name)
	time.Sleep(300 * time.Millisecond)
	ha.MustRun("ip", "link", "add", la.Name, "address", la.MAC.String(), "type", "veth",
		"peer", "name", lb.Name, "netns", hb.NS, "address", lb.MAC.String())
	ha.MustRun("ip", "addr", "add", la.IP.String(), "dev", la.Name)
	hb.MustRun("ip", "addr", "add", lb.IP.String(), "dev", lb.Name)
	ha.MustRun("ip", "link", "set", la.Name, "up")
	hb.MustRun("ip", "link", "set", lb.Name, "up")
	if newIdx := ifindex(t, hb, lb.Name); newIdx == oldIdx {
		t.Fatalf("recreated %s has the same ifindex %d", lb.Name, newIdx)
	}
	waitARP(t, ha, la, lb.Addr().String(), out)
	if err, _ := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := l.Stats().Reopens; got != 1 {
		t.Errorf("Stats.Reopens = %d after down/up and delete/recreate, want 1", got)
	}
}

// waitARP sends ARP requests from la until one arrives (bounded).
func waitARP(t *testing.T, ha *nstest.Host, la *nstest.Link, target string, out <-chan *Batch) {
	t.Helper()
	for i := 0; i < 20; i++ {
		ha.Run("arping", "-c", "1", "-w", "0.1", "-i", la.Name, target)
		if countARPFrom(collect(t, out, 200*time.Millisecond, func(f []Frame) bool { return countARPFrom(f, la.MAC) >= 1 }), la.MAC) > 0 {
			return
		}
	}
	t.Fatalf("no ARP from %s arrived after the interface came back", la.MAC)
}

func ifindex(t *testing.T, h *nstest.Host, name string) int {
	t.Helper()
	var idx int
	if err := h.Do(func() error {
		ifi, err := net.InterfaceByName(name)
		if err == nil {
			idx = ifi.Index
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return idx
}

func TestLiveMissingInterfaceWaits(t *testing.T) {
	nstest.RequireRoot(t, "arping")
	ha, hb := nstest.NewHost(t, "ca"), nstest.NewHost(t, "cb")
	logs := newLogWatch(t)
	l := NewLive(LiveConfig{Iface: "late0"}, slog.New(logs))
	out, stop := liveRun(t, hb, l, 16)
	logs.wait("capture: interface unavailable, retrying")
	la, lb := nstest.Veth(t, ha, "10.201.4.1/24", hb, "10.201.4.2/24")
	// Interface names are per namespace: "late0" is unique to hb.
	hb.MustRun("ip", "link", "set", lb.Name, "down")
	hb.MustRun("ip", "link", "set", lb.Name, "name", "late0")
	hb.MustRun("ip", "link", "set", "late0", "up")
	logs.wait("capture: interface appeared, capturing")
	waitARP(t, ha, la, lb.Addr().String(), out)
	if err, _ := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := l.Stats().Reopens; got != 0 {
		t.Errorf("Stats.Reopens = %d, want 0: the first open is no reopen", got)
	}
}

func TestLiveBadFilterIsFatal(t *testing.T) {
	nstest.RequireRoot(t)
	ha, hb := nstest.NewHost(t, "ca"), nstest.NewHost(t, "cb")
	_, lb := nstest.Veth(t, ha, "", hb, "")
	// Divides by the constant 0: the kernel rejects it.
	f, err := ParseFilter("bpf: 2\n52 0 0 0\n6 0 0 262144")
	if err != nil {
		t.Fatal(err)
	}
	l := NewLive(LiveConfig{Iface: lb.Name, Filter: f}, nil)
	err = hb.Do(func() error { return l.Run(context.Background(), func(b *Batch) { b.Release() }) })
	if err == nil || !strings.Contains(err.Error(), "attach filter") {
		t.Fatalf("Run with a filter the kernel rejects = %v, want an attach filter error", err)
	}
}

// sendRaw writes frame n times from ifname in h with raw AF_PACKET sends.
func sendRaw(t *testing.T, h *nstest.Host, ifname string, frame []byte, n int) {
	t.Helper()
	err := h.Do(func() error {
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		sa := &unix.SockaddrLinklayer{Ifindex: ifi.Index, Halen: 6}
		for i := 0; i < n; i++ {
			if err := unix.Sendto(fd, frame, 0, sa); err != nil && err != unix.ENOBUFS {
				return fmt.Errorf("sendto after %d frames: %w", i, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("raw send in %s: %v", h.NS, err)
	}
}

func TestLiveDropsCounted(t *testing.T) {
	nstest.RequireRoot(t)
	ha, hb := nstest.NewHost(t, "ca"), nstest.NewHost(t, "cb")
	la, lb := nstest.Veth(t, ha, "", hb, "")
	logs := newLogWatch(t)
	// One 256 KiB block holds about 1,800 ARP frames; nobody reads out
	// while the burst goes, so most of it must be dropped and counted.
	l := NewLive(LiveConfig{Iface: lb.Name, BufferBytes: minBufferBytes}, slog.New(logs))
	out, stop := liveRun(t, hb, l, 0)
	logs.wait("capture: started")
	frame := arpFrame()
	copy(frame[6:12], la.MAC)
	const sent = 20000
	sendRaw(t, ha, la.Name, frame, sent)
	sendRaw(t, ha, la.Name, ether(0x0800, ipv4UDPPayload()), 1000)
	var got int
	frames := collect(t, out, blockTimeout+time.Second, func(f []Frame) bool { got = len(f); return false })
	_ = frames
	if err, _ := stop(); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case b := <-out:
			got += len(b.Frames)
			b.Release()
			continue
		default:
		}
		break
	}
	st := l.Stats()
	t.Logf("sent %d ARP, got %d, stats %+v", sent, got, st)
	if st.Dropped == 0 {
		t.Errorf("Stats.Dropped = 0 after a burst of %d frames into a 256KiB ring nobody read", sent)
	}
	if st.Received != uint64(got)+st.Dropped {
		t.Errorf("Stats.Received = %d, want delivered %d + dropped %d = %d", st.Received, got, st.Dropped, uint64(got)+st.Dropped)
	}
	if st.Received > sent {
		t.Errorf("Stats.Received = %d > %d ARP frames sent: the filter let other frames count", st.Received, sent)
	}
}

func TestLiveNDP(t *testing.T) {
	nstest.RequireRoot(t, "ping", "arping")
	ha, hb := nstest.NewHost(t, "ca"), nstest.NewHost(t, "cb")
	la, lb := nstest.Veth(t, ha, "10.201.6.1/24", hb, "10.201.6.2/24")
	ha.MustRun("ip", "-6", "addr", "add", "fd00:201:6::1/64", "dev", la.Name, "nodad")
	hb.MustRun("ip", "-6", "addr", "add", "fd00:201:6::2/64", "dev", lb.Name, "nodad")
	logs := newLogWatch(t)
	l := NewLive(LiveConfig{Iface: lb.Name, Filter: mustParse(t, "ndp")}, slog.New(logs))
	out, _ := liveRun(t, hb, l, 16)
	logs.wait("capture: started")
	ha.MustRun("ping", "-6", "-c", "2", "-i", "0.2", "-W", "1", "fd00:201:6::2")
	ha.MustRun("arping", "-c", "1", "-w", "0.1", "-i", la.Name, lb.Addr().String())
	frames := collect(t, out, blockTimeout+time.Second, func(f []Frame) bool { return len(f) >= 2 })
	frames = append(frames, collect(t, out, 300*time.Millisecond, func([]Frame) bool { return false })...)
	types := map[byte]int{}
	for i, f := range frames {
		if etherTypeOf(f.Data) != etherTypeIPv6 || len(f.Data) < 55 || f.Data[20] != protoICMPv6 {
			t.Errorf("frame %d is not ICMPv6: % x", i, f.Data[:min(len(f.Data), 24)])
			continue
		}
		types[f.Data[54]]++
	}
	if types[icmp6NS] == 0 || types[icmp6NA] == 0 || len(types) != 2 {
		t.Errorf("ICMPv6 types captured %v, want NS (135) and NA (136) only", types)
	}
}

func TestLivePromiscuous(t *testing.T) {
	nstest.RequireRoot(t)
	ha, hb := nstest.NewHost(t, "ca"), nstest.NewHost(t, "cb")
	_, lb := nstest.Veth(t, ha, "", hb, "")
	promiscuity := func() string {
		out := hb.MustRun("ip", "-d", "link", "show", lb.Name)
		if i := strings.Index(out, "promiscuity "); i >= 0 {
			return strings.Fields(out[i:])[1]
		}
		t.Fatalf("no promiscuity in %q", out)
		return ""
	}
	logs := newLogWatch(t)
	l := NewLive(LiveConfig{Iface: lb.Name, Promiscuous: true}, slog.New(logs))
	_, stop := liveRun(t, hb, l, 16)
	logs.wait("capture: started")
	if got := promiscuity(); got != "1" {
		t.Errorf("promiscuity while capturing = %s, want 1", got)
	}
	if err, _ := stop(); err != nil {
		t.Fatal(err)
	}
	if got := promiscuity(); got != "0" {
		t.Errorf("promiscuity after Run returned = %s, want 0", got)
	}
}

func TestLiveCancelWhileWaitingForInterface(t *testing.T) {
	nstest.RequireRoot(t)
	h := nstest.NewHost(t, "cw")
	logs := newLogWatch(t)
	l := NewLive(LiveConfig{Iface: "absent0"}, slog.New(logs))
	_, stop := liveRun(t, h, l, 1)
	logs.wait("capture: interface unavailable, retrying")
	time.Sleep(250 * time.Millisecond) // into a longer backoff
	err, took := stop()
	if err != nil || took > 200*time.Millisecond {
		t.Errorf("Run = %v after %v; want nil within 200ms of cancel", err, took)
	}
}

// ARP from a VLAN subinterface of the sending veth: the kernel carries the
// tag as metadata all the way; Live writes it into the frame.
func TestLiveVLANSubinterface(t *testing.T) {
	nstest.RequireRoot(t, "arping")
	ha, hb := nstest.NewHost(t, "ca"), nstest.NewHost(t, "cb")
	la, lb := nstest.Veth(t, ha, "", hb, "")
	if out, err := ha.Run("ip", "link", "add", "link", la.Name, "name", "v42", "type", "vlan", "id", "42"); err != nil {
		t.Skipf("skipping: this kernel cannot make a VLAN device (no 8021q module?): %s", out)
	}
	ha.MustRun("ip", "addr", "add", "10.201.42.1/24", "dev", "v42")
	ha.MustRun("ip", "link", "set", "v42", "up")
	logs := newLogWatch(t)
	l := NewLive(LiveConfig{Iface: lb.Name}, slog.New(logs))
	out, _ := liveRun(t, hb, l, 16)
	logs.wait("capture: started")
	ha.Run("arping", "-c", "2", "-w", "0.2", "-i", "v42", "10.201.42.2")
	frames := collect(t, out, blockTimeout+2*time.Second, func(f []Frame) bool { return len(f) >= 2 })
	if len(frames) < 2 {
		t.Fatalf("got %d frames, want 2 tagged ARP frames", len(frames))
	}
	for i, f := range frames {
		d := f.Data
		if len(d) < 18 || etherTypeOf(d) != etherType8021Q || binary.BigEndian.Uint16(d[14:])&0xfff != 42 ||
			binary.BigEndian.Uint16(d[16:]) != etherTypeARP || !bytes.Equal(d[6:12], la.MAC) {
			t.Errorf("frame %d = % x, want MACs, 802.1Q tag VLAN 42, ARP", i, d[:min(len(d), 20)])
		}
		if f.Length != len(d) {
			t.Errorf("frame %d: Length %d, len(Data) %d, want equal", i, f.Length, len(d))
		}
	}
}
