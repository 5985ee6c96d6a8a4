package netstate

import (
	"bytes"
	"flag"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s (-want +got):\n%s", path, d)
	}
}

var netipCmp = cmp.Options{
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
	cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
}

var t0 = time.Date(2026, 11, 26, 12, 3, 0, 0, time.UTC)

func mustMAC(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

// sampleState is a gateway in the middle of the incident: the backend's
// entry FAILED, eth1 renegotiated down to 100Mb/s.
func sampleState() *State {
	return &State{
		Time:     t0.Add(11*time.Second + 123456*time.Microsecond),
		Hostname: "haproxy2",
		Kernel:   "Linux 6.1.0-26-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.112-1 x86_64",
		Neighbors: []Neighbor{
			{IP: netip.MustParseAddr("192.0.2.1"), MAC: mustMAC("00:26:88:63:c7:80"), Iface: "eth0", State: StateReachable},
			{IP: netip.MustParseAddr("10.0.0.5"), Iface: "eth1", State: StateFailed},
			{IP: netip.MustParseAddr("10.0.0.6"), MAC: mustMAC("00:21:5e:4d:45:c9"), Iface: "eth1", State: StateStale},
			{IP: netip.MustParseAddr("fe80::1"), MAC: mustMAC("00:26:88:63:c7:80"), Iface: "eth0", State: StateStale, Router: true},
			{IP: netip.MustParseAddr("ff02::16"), MAC: mustMAC("33:33:00:00:00:16"), Iface: "eth0", State: StateNoARP},
		},
		Links: []Link{
			{Index: 1, Name: "lo", Kind: "device", OperState: "UNKNOWN", AdminUp: true, Carrier: true,
				Flags: []string{"LOOPBACK", "UP", "LOWER_UP"}, MTU: 65536, Duplex: "unknown"},
			{Index: 2, Name: "eth0", Kind: "device", OperState: "UP", AdminUp: true, Carrier: true,
				Flags: []string{"BROADCAST", "MULTICAST", "UP", "LOWER_UP"}, MAC: mustMAC("00:15:5d:0a:3e:01"), MTU: 1500,
				SpeedMbps: 1000, Duplex: "full", Autoneg: "on", Port: "twisted pair"},
			{Index: 3, Name: "eth1", Kind: "device", OperState: "UP", AdminUp: true, Carrier: true,
				Flags: []string{"BROADCAST", "MULTICAST", "UP", "LOWER_UP"}, MAC: mustMAC("00:15:5d:0a:3e:02"), MTU: 1500,
				SpeedMbps: 100, Duplex: "half", Autoneg: "on", Port: "twisted pair", Master: "bond0", SlaveState: "ACTIVE"},
			{Index: 4, Name: "eth2", Kind: "device", OperState: "DOWN", AdminUp: true,
				Flags: []string{"NO-CARRIER", "BROADCAST", "MULTICAST", "UP"}, MAC: mustMAC("00:15:5d:0a:3e:03"), MTU: 1500,
				Duplex: "unknown"},
		},
		Addrs: []Addr{
			{Iface: "lo", Family: "inet", Prefix: netip.MustParsePrefix("127.0.0.1/8"), Scope: "host", Label: "lo"},
			{Iface: "eth0", Family: "inet", Prefix: netip.MustParsePrefix("192.0.2.10/24"), Scope: "global", Label: "eth0", Flags: []string{"dynamic"}},
			{Iface: "eth1", Family: "inet", Prefix: netip.MustParsePrefix("10.0.0.1/24"), Scope: "global", Label: "eth1"},
			{Iface: "eth1", Family: "inet", Prefix: netip.MustParsePrefix("10.0.0.254/24"), Scope: "global", Label: "eth1:1", Flags: []string{"secondary"}},
			{Iface: "eth0", Family: "inet6", Prefix: netip.MustParsePrefix("fe80::215:5dff:fe0a:3e01/64"), Scope: "link"},
		},
		Routes: []Route{
			{Dst: netip.MustParsePrefix("10.0.0.0/24"), Iface: "eth1", Src: netip.MustParseAddr("10.0.0.1"), Protocol: "kernel", Scope: "link"},
			{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("192.0.2.1"), Iface: "eth0", Protocol: "dhcp", Metric: 100, Default: true},
			{Dst: netip.MustParsePrefix("198.51.100.0/24"), NextHops: []NextHop{
				{Gateway: netip.MustParseAddr("10.0.0.2"), Iface: "eth1", Weight: 1},
				{Gateway: netip.MustParseAddr("10.0.0.3"), Iface: "eth1", Weight: 2}}},
			{Dst: netip.MustParsePrefix("203.0.113.0/24"), Type: "unreachable"},
			{Dst: netip.MustParsePrefix("::/0"), Gateway: netip.MustParseAddr("fe80::1"), Iface: "eth0", Protocol: "ra", Metric: 1024, Default: true},
		},
		Errors: []string{"ethtool eth2: netlink receive: no buffer space available"},
	}
}

func TestStateText(t *testing.T) {
	var b bytes.Buffer
	if err := sampleState().WriteText(&b); err != nil {
		t.Fatal(err)
	}
	golden(t, "state.txt", b.Bytes())
}

func TestStateJSON(t *testing.T) {
	var b bytes.Buffer
	if err := sampleState().WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	golden(t, "state.json", b.Bytes())
	back, err := ReadStateJSON(&b)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(sampleState(), back, netipCmp); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
}

func sampleChanges() []Change {
	return []Change{
		{Time: t0.Add(5 * time.Second), Kind: KindLink, Iface: "eth1", MAC: mustMAC("00:15:5d:0a:3e:02"), State: "DOWN",
			Detail: "carrier lost, oper UP -> DOWN, speed 1000Mb/s -> unknown, duplex full -> unknown"},
		{Time: t0.Add(7 * time.Second), Kind: KindLink, Iface: "eth1", MAC: mustMAC("00:15:5d:0a:3e:02"), State: "UP",
			Detail: "carrier restored, oper DOWN -> UP, speed unknown -> 100Mb/s, duplex unknown -> half"},
		{Time: t0.Add(9 * time.Second), Kind: KindNeighbor, Iface: "eth1", IP: netip.MustParseAddr("10.0.0.5"),
			MAC: mustMAC("00:21:5e:4d:30:8d"), State: StateStale, Detail: "REACHABLE -> STALE"},
		{Time: t0.Add(11*time.Second + 123456*time.Microsecond), Kind: KindNeighbor, Iface: "eth1",
			IP: netip.MustParseAddr("10.0.0.5"), State: StateFailed, Detail: "PROBE -> FAILED"},
	}
}

func TestChangesTextAndJSON(t *testing.T) {
	var b bytes.Buffer
	if err := WriteChangesText(&b, sampleChanges()); err != nil {
		t.Fatal(err)
	}
	golden(t, "changes.txt", b.Bytes())

	b.Reset()
	if err := WriteChangesJSON(&b, sampleChanges()); err != nil {
		t.Fatal(err)
	}
	golden(t, "changes.json", b.Bytes())
	back, err := ReadChangesJSON(&b)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(sampleChanges(), back, netipCmp); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}

	b.Reset()
	if err := WriteChangesJSON(&b, nil); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != "[]\n" {
		t.Errorf("WriteChangesJSON(nil) = %q, want \"[]\\n\"", got)
	}
}

func TestJournalRingAndBetween(t *testing.T) {
	j := NewJournal(nil, 3)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	for s := 1; s <= 5; s++ {
		j.add(Change{Time: at(s), Kind: KindLink, Iface: "eth1", Detail: "n" + string(rune('0'+s))})
	}
	if j.Len() != 3 {
		t.Errorf("Len = %d, want 3 (bounded)", j.Len())
	}
	details := func(cs []Change) []string {
		out := []string{}
		for _, c := range cs {
			out = append(out, c.Detail)
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		from, to time.Time
		want     []string
	}{
		{"all kept", time.Time{}, time.Time{}, []string{"n3", "n4", "n5"}},
		{"inclusive both ends", at(3), at(4), []string{"n3", "n4"}},
		{"open start", time.Time{}, at(3), []string{"n3"}},
		{"open end", at(5), time.Time{}, []string{"n5"}},
		{"dropped by the ring", at(1), at(2), []string{}},
		{"after everything", at(6), at(9), []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, details(j.Between(tc.from, tc.to))); d != "" {
				t.Errorf("Between(%v, %v) (-want +got):\n%s", tc.from, tc.to, d)
			}
		})
	}
}

func TestJournalConcurrent(t *testing.T) {
	j := NewJournal(nil, 100)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 1000 {
			j.add(Change{Time: t0.Add(time.Duration(i) * time.Millisecond), Kind: KindNeighbor})
		}
	}()
	for range 100 {
		cs := j.Between(time.Time{}, time.Time{})
		for i := 1; i < len(cs); i++ {
			if cs[i].Time.Before(cs[i-1].Time) {
				t.Fatalf("Between out of order at %d", i)
			}
		}
	}
	<-done
	if j.Len() != 100 {
		t.Errorf("Len = %d, want 100", j.Len())
	}
}

func TestJournalCountsWhatItDrops(t *testing.T) {
	j := NewJournal(nil, 3)
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for i := range 5 {
		j.add(Change{Time: t0.Add(time.Duration(i) * time.Second), Kind: KindNeighbor, State: StateStale})
	}
	n, until := j.Dropped()
	if n != 2 || !until.Equal(t0.Add(time.Second)) {
		t.Errorf("Dropped() = %d, %v; want 2 up to %v", n, until, t0.Add(time.Second))
	}
	if got := j.Between(time.Time{}, time.Time{}); len(got) != 3 || !got[0].Time.Equal(t0.Add(2*time.Second)) {
		t.Errorf("Between = %v, want the last 3", got)
	}
}
