package recorder

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/arpbox/arpbox/capture"
	"github.com/arpbox/arpbox/ring"
)

// A slot is one capture source for as long as it records in this run: an
// interface named in the configuration (or, replaying, the capture file).
// A reload that removes an interface stops its slot; one that adds an
// interface starts a new slot with a new id. Ids are never reused, so a
// batch always names the slot it came from.
type slot struct {
	id    int // Batch.Iface of the slot's frames
	name  string
	src   capture.Source
	live  *capture.Live  // src, when capturing live
	iface ring.Interface // the interface description written to segments

	stop     context.CancelFunc // set when started
	done     chan struct{}      // closed when src.Run has returned
	stopping bool               // stopped on purpose: its Run's error is not the recorder's
}

// captures owns the capture slots' goroutines: run starts the first slots
// and waits for every slot, those a reload starts later included; add and
// remove change the set while run runs.
type captures struct {
	mu      sync.Mutex
	slots   []*slot // recording now, in the ring's interface order
	nextID  int
	ctx     context.Context // run's, set when run starts; nil before
	deliver func(*capture.Batch)
	running int
	// replacing counts replace calls under way: their slots may all be
	// stopped for a moment, which is not the end of the recording.
	replacing int
	closed    bool  // run is returning: nothing more starts
	err       error // the first failure of a slot not stopped on purpose
	changed   chan struct{}
}

func newCaptures() *captures { return &captures{changed: make(chan struct{}, 1)} }

// newSlot returns a slot with the next id; it starts nothing.
func (c *captures) newSlot(name string, src capture.Source, live *capture.Live, iface ring.Interface) *slot {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := &slot{id: c.nextID, name: name, src: src, live: live, iface: iface, done: make(chan struct{})}
	c.nextID++
	return s
}

// nextSlotID returns the id the next newSlot gives.
func (c *captures) nextSlotID() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nextID
}

// list returns the slots recording now, in ring order.
func (c *captures) list() []*slot {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*slot(nil), c.slots...)
}

// run starts the slots and returns once every slot has stopped: all of them
// after ctx is cancelled, all of them when a slot fails (its error is
// returned), or when the last one ends by itself (a replayed file).
func (c *captures) run(ctx context.Context, deliver func(*capture.Batch)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c.mu.Lock()
	c.ctx, c.deliver = ctx, deliver
	for _, s := range c.slots {
		c.startLocked(s)
	}
	c.mu.Unlock()
	for {
		c.mu.Lock()
		if c.err != nil {
			cancel()
		}
		if c.running == 0 && (c.replacing == 0 || ctx.Err() != nil) {
			c.closed = true
			err := c.err
			c.mu.Unlock()
			return err
		}
		c.mu.Unlock()
		<-c.changed
	}
}

// startLocked starts s's source; the caller holds mu and run has started.
func (c *captures) startLocked(s *slot) {
	sctx, stop := context.WithCancel(c.ctx)
	s.stop = stop
	c.running++
	deliver := c.deliver
	go func() {
		err := s.src.Run(sctx, deliver)
		stop()
		c.mu.Lock()
		c.running--
		if err != nil && !s.stopping && c.err == nil {
			c.err = fmt.Errorf("capture %s: %w", s.name, err)
		}
		c.mu.Unlock()
		close(s.done)
		select {
		case c.changed <- struct{}{}:
		default:
		}
	}()
}

// replace makes next the recording set: it stops the slots of c's set that
// next does not hold (waiting until each has delivered its last frames),
// then calls swap with the next slot id (it switches the ring to next's
// interfaces), then starts next's new slots. It fails, changing nothing,
// once run is returning or before it started; when swap fails the new
// slots are not started (the stopped ones stay stopped).
func (c *captures) replace(ctx context.Context, next []*slot, swap func(nextID int) error) error {
	c.mu.Lock()
	if c.closed || c.ctx == nil {
		c.mu.Unlock()
		return fmt.Errorf("capture is not running")
	}
	c.replacing++
	defer func() {
		c.mu.Lock()
		c.replacing--
		c.mu.Unlock()
		select {
		case c.changed <- struct{}{}:
		default:
		}
	}()
	keep := map[*slot]bool{}
	for _, s := range next {
		keep[s] = true
	}
	var gone []*slot
	for _, s := range c.slots {
		if !keep[s] {
			s.stopping = true
			s.stop()
			gone = append(gone, s)
		}
	}
	c.mu.Unlock()
	for _, s := range gone {
		select {
		case <-s.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.ctx.Err() != nil {
		return fmt.Errorf("capture is not running")
	}
	started := map[*slot]bool{}
	for _, s := range c.slots {
		started[s] = true
	}
	if err := swap(c.nextID); err != nil {
		c.slots = slices.DeleteFunc(c.slots, func(s *slot) bool { return s.stopping })
		return err
	}
	c.slots = append([]*slot(nil), next...)
	for _, s := range next {
		if !started[s] {
			c.startLocked(s)
		}
	}
	return nil
}

// ifaceMap maps slot ids (Batch.Iface) to the ring's interface indices and
// holds each slot's counts. A stored map is not changed (its counts are
// atomic): the ring owner swaps in a new one when the interfaces change.
type ifaceMap struct {
	ring   []int            // by slot id: index among the ring's interfaces, -1 for none
	counts []*ifaceCount    // by slot id
	srcs   []capture.Source // by ring index: whose counters the ring's statistics blocks carry
}

// newIfaceMap maps ids 0..n-1 to ring indices 0..n-1.
func newIfaceMap(n int) *ifaceMap {
	m := &ifaceMap{ring: make([]int, n), counts: make([]*ifaceCount, n)}
	for i := range n {
		m.ring[i] = i
		m.counts[i] = new(ifaceCount)
	}
	return m
}

// lookup returns slot id's ring index (-1 if none: the ring refuses it) and counts.
func (m *ifaceMap) lookup(id int) (int, *ifaceCount) {
	if id < 0 || id >= len(m.ring) || m.ring[id] < 0 {
		return -1, nil
	}
	return m.ring[id], m.counts[id]
}

// count returns slot id's counts; nil for an unknown id.
func (m *ifaceMap) count(id int) *ifaceCount {
	if id < 0 || id >= len(m.counts) {
		return nil
	}
	return m.counts[id]
}

// src returns the source recorded as ring interface i; nil if none.
func (m *ifaceMap) src(i int) capture.Source {
	if i < 0 || i >= len(m.srcs) {
		return nil
	}
	return m.srcs[i]
}

// next returns the map for slots (in ring order), keeping the counts of
// the slots m knows; ids up to maxID-1 are mapped.
func (m *ifaceMap) next(slots []*slot, maxID int) *ifaceMap {
	n := &ifaceMap{ring: make([]int, maxID), counts: make([]*ifaceCount, maxID)}
	for i := range n.ring {
		n.ring[i] = -1
		if i < len(m.counts) {
			n.counts[i] = m.counts[i]
		}
	}
	for i, s := range slots {
		n.ring[s.id] = i
		if n.counts[s.id] == nil {
			n.counts[s.id] = new(ifaceCount)
		}
		n.srcs = append(n.srcs, s.src)
	}
	return n
}
