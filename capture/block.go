package capture

import (
	"time"
	"unsafe"
)

// TPACKET_V3 ring layout (linux/if_packet.h), kept here rather than in a
// _linux file so the frame path can be tested and benchmarked anywhere with
// blocks built in memory.
const (
	// blockSize is one TPACKET_V3 ring block: about 2,000 ARP frames.
	blockSize = 256 << 10

	// struct tpacket_block_desc with its tpacket_hdr_v1
	bdBlockStatus   = 8
	bdNumPkts       = 12
	bdOffsetToFirst = 16
	bdHeaderLen     = 48
	// struct tpacket3_hdr
	tp3NextOffset = 0
	tp3Sec        = 4
	tp3Nsec       = 8
	tp3Snaplen    = 12
	tp3Len        = 16
	tp3Status     = 20
	tp3Mac        = 24
	tp3VLANTCI    = 32
	tp3VLANTPID   = 36
	tp3HdrLen     = 48

	tpStatusKernel        = 0
	tpStatusUser          = 1
	tpStatusVLANValid     = 0x10
	tpStatusVLANTPIDValid = 0x40

	vlanTagLen = 4
)

// u32 and u16 read the ring's native-endian header fields.
func u32(b []byte, off int) uint32 {
	_ = b[off+3]
	return *(*uint32)(unsafe.Pointer(&b[off]))
}

func u16(b []byte, off int) uint16 {
	_ = b[off+1]
	return *(*uint16)(unsafe.Pointer(&b[off]))
}

// filler copies the frames of TPACKET_V3 blocks into batches. It belongs
// to the goroutine that reads the ring.
type filler struct {
	pool  *batchPool
	iface int
	snap  int
	// match is the user-space filter check for the built-in filters, run
	// on the frame as the kernel filter saw it (outer tag stripped). With
	// the filter attached before the socket is bound nothing should fail
	// it; it guards against frames queued before the filter. Raw programs
	// are not rechecked: the kernel ran them already.
	match Filter
	cur   *Batch

	delivered uint64 // frames handed on in batches
	rejected  uint64 // frames the user-space check threw away
}

// fillBlock copies the frames of one block (the whole ring block, status
// TP_STATUS_USER) into batches, handing each full batch to emit. It stops
// early, returning false, when emit returns false. It does not release the
// block and does not allocate except when the pool is empty.
func (f *filler) fillBlock(block []byte, emit func(*Batch) bool) bool {
	n := int(u32(block, bdNumPkts))
	off := int(u32(block, bdOffsetToFirst))
	for i := 0; i < n; i++ {
		if off < bdHeaderLen || off+tp3HdrLen > len(block) {
			return true // corrupt block; nothing sane to read
		}
		next := int(u32(block, off+tp3NextOffset))
		snap := int(u32(block, off+tp3Snaplen))
		mac := off + int(u16(block, off+tp3Mac))
		if mac+snap > len(block) {
			return true
		}
		data := block[mac : mac+snap]
		if f.match.kind != kindAll && f.match.kind != kindRaw && !f.match.Match(data) {
			f.rejected++
		} else {
			ts := time.Unix(int64(u32(block, off+tp3Sec)), int64(u32(block, off+tp3Nsec))).UTC()
			status := u32(block, off+tp3Status)
			tci := u32(block, off+tp3VLANTCI)
			if (status&tpStatusVLANValid != 0 || tci != 0) && snap >= 12 {
				tpid := uint16(0x8100)
				if status&tpStatusVLANTPIDValid != 0 {
					tpid = u16(block, off+tp3VLANTPID)
				}
				if !f.addTagged(ts, int(u32(block, off+tp3Len))+vlanTagLen, data, tpid, uint16(tci), emit) {
					return false
				}
			} else if !f.add(ts, int(u32(block, off+tp3Len)), data, emit) {
				return false
			}
		}
		if next == 0 {
			break
		}
		off += next
	}
	return true
}

// room returns the current batch with room for n bytes, handing on the
// current one first if it is full. It returns nil if emit refused.
func (f *filler) room(n int, emit func(*Batch) bool) *Batch {
	if f.cur != nil && !f.cur.fits(n) {
		b := f.cur
		f.cur = nil
		if !emit(b) {
			return nil
		}
	}
	if f.cur == nil {
		f.cur = f.pool.get(f.iface) // nil if the source is stopping
	}
	return f.cur
}

func (f *filler) add(ts time.Time, wireLen int, data []byte, emit func(*Batch) bool) bool {
	if len(data) > f.snap {
		data = data[:f.snap]
	}
	b := f.room(len(data), emit)
	if b == nil {
		return false
	}
	b.add(ts, wireLen, data)
	f.delivered++
	return true
}

// addTagged writes the frame with the VLAN tag the kernel stripped put back
// behind the MAC addresses, as libpcap does, in the same single copy.
func (f *filler) addTagged(ts time.Time, wireLen int, data []byte, tpid, tci uint16, emit func(*Batch) bool) bool {
	n := min(len(data)+vlanTagLen, f.snap)
	b := f.room(n, emit)
	if b == nil {
		return false
	}
	d := b.push(ts, wireLen, n)
	copy(d[:12], data[:12])
	d[12], d[13], d[14], d[15] = byte(tpid>>8), byte(tpid), byte(tci>>8), byte(tci)
	copy(d[16:], data[12:])
	f.delivered++
	return true
}

// flush hands on the current batch if it holds frames; drained marks it
// as the last before the source sleeps (Batch.Drained).
func (f *filler) flush(emit func(*Batch) bool, drained bool) bool {
	b := f.cur
	if b == nil || len(b.Frames) == 0 {
		return true
	}
	f.cur = nil
	b.Drained = drained
	return emit(b)
}

// age is how long ago the current batch's first frame was captured.
func (f *filler) age(now time.Time) time.Duration {
	if f.cur == nil || len(f.cur.Frames) == 0 {
		return 0
	}
	return now.Sub(f.cur.Frames[0].Time)
}

// drop returns the current batch to the pool without handing it on.
func (f *filler) drop() {
	if f.cur != nil {
		f.cur.Release()
		f.cur = nil
	}
}
