package analyze

import (
	"net/netip"
	"testing"
	"time"

	at "github.com/arpbox/arpbox/analyze/analyzetest"
)

// TestEngineNoGarbagePerPacket checks that, once an address's bounded state
// is full, the analysis allocates nothing per packet: an address that
// misses every other request opens and closes an unanswered episode each
// time, and a sender storms and calms down every other second. This is what
// lets "arpbox report" run a long capture without a GC cycle and with a
// peak RSS that does not grow with the capture.
func TestEngineNoGarbagePerPacket(t *testing.T) {
	e := newEngine(engineConfig{timeout: int64(time.Second), stormRate: 50, maxTargets: 1024})
	var req, rep, storm Packet
	for _, c := range []struct {
		frame []byte
		p     *Packet
	}{
		{at.Request(at.MAC("02:00:00:00:00:01"), "10.0.0.1", "10.0.0.2"), &req},
		{at.Reply(at.MAC("02:00:00:00:00:02"), "10.0.0.2", at.MAC("02:00:00:00:00:01"), "10.0.0.1"), &rep},
		{at.Request(at.MAC("02:00:00:00:00:03"), "10.0.0.3", "10.0.0.4"), &storm},
	} {
		if err := Decode(LinkEthernet, c.frame, c.p); err != nil {
			t.Fatal(err)
		}
	}
	var ts int64 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC).UnixNano()
	var frame uint64
	// One round: a request left unanswered (judged 2 s later), a request
	// answered (closing the episode), and in even seconds a burst of 60
	// requests from another sender (a storm that ends the next second).
	round := func() {
		for i := range 2 {
			frame++
			e.observe(ts, &req, Ref{Frame: frame})
			if i == 1 {
				frame++
				e.observe(ts+int64(time.Millisecond), &rep, Ref{Frame: frame})
			}
			ts += int64(2 * time.Second)
		}
		for range 60 {
			frame++
			e.observe(ts, &storm, Ref{Frame: frame})
		}
		ts += int64(2 * time.Second)
	}
	for range 1000 { // fill the bounded state: episodes, storms, timeline
		round()
	}
	if allocs := testing.AllocsPerRun(200, round); allocs != 0 {
		t.Errorf("%.1f allocations per round, want 0", allocs)
	}
	tg := e.targets[tkey{ip: netip.MustParseAddr("10.0.0.2")}]
	if tg == nil || tg.episodesN < 1000 || len(tg.episodes) != maxEpisodes {
		t.Fatalf("the test did not make episodes: %+v", tg)
	}
	s := e.senders[at.MAC("02:00:00:00:00:03")]
	if s == nil || s.stormsN < 1000 {
		t.Fatalf("the test did not make storms: %+v", s)
	}
}
