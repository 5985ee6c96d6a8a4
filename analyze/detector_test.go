package analyze

import (
	"net/netip"
	"testing"
	"time"

	at "github.com/arpbox/arpbox/analyze/analyzetest"
	"github.com/google/go-cmp/cmp"
)

func TestDetectorUnanswered(t *testing.T) {
	gw, srv := at.MAC("02:00:00:00:00:01"), at.MAC("02:00:00:00:00:05")
	d := NewDetector(DetectorConfig{})
	ip := netip.MustParseAddr("10.0.0.5")
	d.Observe(base, at.Request(gw, "10.0.0.1", "10.0.0.5"))
	d.Observe(base.Add(time.Millisecond), at.Reply(srv, "10.0.0.5", gw, "10.0.0.1"))
	for i := range 5 {
		d.Observe(base.Add(time.Duration(10+i)*time.Second), at.Request(gw, "10.0.0.1", "10.0.0.5"))
	}
	// Queried at +14.5 s: the last request is still inside its timeout.
	type stat struct {
		N                  int
		First, Last, Reply time.Time
		ReplyMAC           string
	}
	var got stat
	got.N, got.First, got.Last = d.Unanswered(ip, base.Add(14500*time.Millisecond), 30*time.Second)
	got.Reply, got.ReplyMAC = d.LastReply(ip)
	want := stat{N: 4, First: base.Add(10 * time.Second), Last: base.Add(13 * time.Second),
		Reply: base.Add(time.Millisecond), ReplyMAC: "02:00:00:00:00:05"}
	if d := cmp.Diff(want, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	// Once its timeout has passed, the fifth counts too.
	if n, _, last := d.Unanswered(ip, base.Add(15500*time.Millisecond), 30*time.Second); n != 5 || !last.Equal(base.Add(14*time.Second)) {
		t.Errorf("at +15.5s: %d unanswered, last %v; want 5, the last at +14s", n, last)
	}
	// A narrower window sees only the most recent ones.
	if n, _, _ := d.Unanswered(ip, base.Add(20*time.Second), 8*time.Second); n != 2 {
		t.Errorf("window 8s: %d unanswered, want 2 (at +13s and +14s)", n)
	}
	if at, mac := d.LastReply(netip.MustParseAddr("10.0.0.6")); !at.IsZero() || mac != "" {
		t.Errorf("never answered: LastReply = %v %q", at, mac)
	}
}

func TestDetectorConflict(t *testing.T) {
	gw := at.MAC("02:00:00:00:00:01")
	a, b := at.MAC("02:00:00:00:0a:01"), at.MAC("02:00:00:00:0a:02")
	d := NewDetector(DetectorConfig{})
	ip := netip.MustParseAddr("10.0.0.10")
	for i, m := range [][6]byte{a, b, a, b} {
		ts := base.Add(time.Duration(i) * 5 * time.Second)
		d.Observe(ts, at.Request(gw, "10.0.0.1", "10.0.0.10"))
		d.Observe(ts.Add(time.Millisecond), at.Reply(m, "10.0.0.10", gw, "10.0.0.1"))
	}
	n, last, macs := d.Conflict(ip, base)
	if n != 2 || len(macs) != 2 || !last.Equal(base.Add(15*time.Second+time.Millisecond)) {
		t.Errorf("conflict = %d, last %v, MACs %v; want 2 flip-flops between 2 MACs, the last at +15.001s", n, last, macs)
	}
	if n, _, _ := d.Conflict(ip, base.Add(time.Minute)); n != 0 {
		t.Errorf("conflicts after the last one: %d", n)
	}
}

// TestDetectorBounded feeds requests for many more addresses than the cap
// and checks the state stays within it.
func TestDetectorBounded(t *testing.T) {
	gw := at.MAC("02:00:00:00:00:01")
	d := NewDetector(DetectorConfig{MaxAddresses: 256})
	for i := range 20000 {
		ip := netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})
		d.Observe(base.Add(time.Duration(i)*10*time.Millisecond), at.Request(gw, "10.0.0.1", ip.String()))
	}
	if n := len(d.eng.targets); n > 256 {
		t.Errorf("%d addresses tracked, cap 256", n)
	}
	if n := len(d.eng.queue) - d.eng.qhead; n > 1000 {
		t.Errorf("%d queued requests", n)
	}
}
