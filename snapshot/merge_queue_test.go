package snapshot

import (
	"math/rand/v2"
	"testing"
)

// The reorder buffer pops packets in (time, read order) order whatever the
// order they were pushed in, interleaved with pops, across compactions.
func TestPktQueueOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var b pktQueue
	var last *qpkt
	popped, ord := 0, uint64(0)
	pop := func() {
		p := b.pop()
		if last != nil && p.before(last) {
			t.Fatalf("popped (%d, %d) after (%d, %d)", p.ts, p.ord, last.ts, last.ord)
		}
		last = p
		popped++
	}
	for i := range 20000 {
		ord++
		ts := int64(i) * 10
		if rng.IntN(10) == 0 {
			ts -= int64(rng.IntN(50)) // a little late
		}
		if rng.IntN(20) == 0 {
			ts = int64(i-1) * 10 // a tie with the previous one
		}
		b.push(&qpkt{ts: ts, ord: ord})
		for b.len() > 100 { // emit with a lag bigger than any lateness
			pop()
		}
	}
	for b.len() > 0 {
		pop()
	}
	if popped != 20000 {
		t.Errorf("popped %d packets, pushed 20000", popped)
	}
}
