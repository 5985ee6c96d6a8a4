// Package capture reads link-layer frames from network interfaces and capture files, filtered in the kernel.
package capture

import (
	"errors"
	"time"
)

// Frame is one captured link-layer (Ethernet) frame.
type Frame struct {
	Time   time.Time // kernel timestamp, ns resolution
	Length int       // original length on the wire
	Data   []byte    // captured bytes (len = capture length); valid only until Batch.Release
}

// Batch sizes: a batch is handed on when it holds batchFrames frames, when
// the next frame does not fit its buffer, when the source would otherwise
// block, or when its first frame is maxBatchAge old. 1024 frames rather
// than 256: under a storm the channel handoff per batch cost more CPU than
// copying the frames (measured with BenchmarkLiveStorm); 1024 ARP frames
// use about 60 KiB of the buffer.
const (
	batchFrames = 1024
	batchBytes  = 256 << 10
	maxBatchAge = 100 * time.Millisecond
	// poolMax is how many batches a source has at most: 8 MiB of buffers
	// (touched only as far as frames fill them), at least 32 batches of
	// slack between the source and a consumer that falls behind. When all
	// are out the source waits for a Release, the kernel ring fills and
	// the kernel counts drops.
	poolMax = 32
)

// Batch is a run of frames from one interface, sharing one buffer.
// The consumer calls Release once it is done with the frames.
type Batch struct {
	Iface  int // index of the interface in the configured list
	Frames []Frame
	// Drained says the source had no more frames waiting when it handed
	// this batch on: it is about to sleep, so a consumer that buffers
	// should write out now rather than on a timer of its own.
	Drained bool

	buf      []byte
	used     int
	pool     *batchPool
	released bool
}

// Release returns b to its source's pool; b and its frames' Data must not be
// used afterwards. Releasing a batch twice panics: it would hand the same
// buffer to two batches.
func (b *Batch) Release() {
	if b == nil || b.pool == nil {
		return
	}
	if b.released {
		panic("capture: Batch released twice")
	}
	b.released = true
	b.pool.put(b)
}

// fits reports whether a frame of n captured bytes fits in b.
func (b *Batch) fits(n int) bool {
	return len(b.Frames) < cap(b.Frames) && b.used+n <= len(b.buf)
}

// push appends a frame of n captured bytes and returns its Data for the
// caller to fill. The caller checks fits first.
func (b *Batch) push(ts time.Time, wireLen, n int) []byte {
	d := b.buf[b.used : b.used+n : b.used+n]
	b.used += n
	b.Frames = append(b.Frames, Frame{Time: ts, Length: wireLen, Data: d})
	return d
}

// add copies data into b as a new frame.
func (b *Batch) add(ts time.Time, wireLen int, data []byte) {
	copy(b.push(ts, wireLen, len(data)), data)
}

// batchPool hands out at most poolMax batches and takes them back for
// reuse, so steady-state capture allocates nothing and memory stays bounded
// however long the consumer holds batches. get is called by the source's
// goroutine only; put by whoever releases.
type batchPool struct {
	free    chan *Batch
	made    int
	bufSize int
	done    <-chan struct{} // get gives up when this closes
}

func newBatchPool(bufSize int, done <-chan struct{}) *batchPool {
	if bufSize < batchBytes {
		bufSize = batchBytes
	}
	return &batchPool{free: make(chan *Batch, poolMax), bufSize: bufSize, done: done}
}

// get returns an empty batch for iface, waiting for a Release if all
// poolMax batches are out; nil if done closed meanwhile.
func (p *batchPool) get(iface int) *Batch {
	var b *Batch
	select {
	case b = <-p.free:
	default:
		if p.made < poolMax {
			p.made++
			b = &Batch{Frames: make([]Frame, 0, batchFrames), buf: make([]byte, p.bufSize), pool: p}
			break
		}
		select {
		case b = <-p.free:
		case <-p.done:
			return nil
		}
	}
	b.Iface = iface
	b.Drained = false
	b.released = false
	return b
}

func (p *batchPool) put(b *Batch) {
	clear(b.Frames) // drop Location pointers; Data points into buf anyway
	b.Frames = b.Frames[:0]
	b.used = 0
	p.free <- b // never blocks: it has room for every batch made
}

// Stats are a source's counters, cumulative since the source was made.
type Stats struct {
	// Received counts frames that passed the kernel filter, including
	// those then dropped (the kernel's tp_packets, summed over reopens).
	Received uint64
	// Dropped counts frames that passed the filter but found the ring full
	// (tp_drops). Received - Dropped frames reached arpbox.
	Dropped uint64
	// Reopens counts how often the interface was lost and capture resumed.
	Reopens uint64
}

// Errors a source reports.
var (
	// ErrLinkDown means the interface went down or away; Live logs it and
	// reopens the interface, it does not return it from Run.
	ErrLinkDown = errors.New("link down")
	// ErrTruncated means a capture file ends inside a record.
	ErrTruncated = errors.New("capture file truncated")
)
