package capture

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// ringFrame is one frame to lay out in a TPACKET_V3 block as the kernel does.
type ringFrame struct {
	data     []byte // bytes in the ring (outer tag stripped)
	wireLen  int
	ts       time.Time
	tci      uint16
	tpid     uint16
	vlan     bool
	tpidSeen bool
}

// makeBlock lays frames out like the kernel's tpacket_rcv for TPACKET_V3:
// a 48-byte block header, then per frame a tpacket3_hdr with the MAC header
// at offset 82 (TPACKET_ALIGN(68+16)-14) and 16-byte aligned next offsets.
func makeBlock(size int, frames []ringFrame) []byte {
	b := make([]byte, size)
	ne := binary.NativeEndian
	ne.PutUint32(b[bdBlockStatus:], tpStatusUser)
	ne.PutUint32(b[bdNumPkts:], uint32(len(frames)))
	ne.PutUint32(b[bdOffsetToFirst:], bdHeaderLen)
	off := bdHeaderLen
	for i, f := range frames {
		const mac = 82
		next := (mac + len(f.data) + 15) &^ 15
		if i == len(frames)-1 {
			next = 0
		}
		h := b[off:]
		ne.PutUint32(h[tp3NextOffset:], uint32(next))
		ne.PutUint32(h[tp3Sec:], uint32(f.ts.Unix()))
		ne.PutUint32(h[tp3Nsec:], uint32(f.ts.Nanosecond()))
		ne.PutUint32(h[tp3Snaplen:], uint32(len(f.data)))
		ne.PutUint32(h[tp3Len:], uint32(f.wireLen))
		st := uint32(tpStatusUser)
		if f.vlan {
			st |= tpStatusVLANValid
		}
		if f.tpidSeen {
			st |= tpStatusVLANTPIDValid
		}
		ne.PutUint32(h[tp3Status:], st)
		ne.PutUint16(h[tp3Mac:], mac)
		ne.PutUint32(h[tp3VLANTCI:], uint32(f.tci))
		ne.PutUint16(h[tp3VLANTPID:], f.tpid)
		copy(h[mac:], f.data)
		off += next
	}
	return b
}

func TestFillBlock(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 1, 2, 3, 456789012, time.UTC)
	arp := arpFrame()
	pcp := arpFrame(tagPCP)
	qinq := arpFrame(tagAD, tagQ)
	ipv4 := ether(0x0800, ipv4UDPPayload())
	blk := makeBlock(blockSize, []ringFrame{
		{data: arp, wireLen: 60, ts: t0},
		// 802.1Q tag stripped by the kernel: TCI in metadata, no TPID (old kernel).
		{data: arp, wireLen: len(arp), ts: t0.Add(1), vlan: true, tci: tagPCP[1]},
		// QinQ: outer 802.1ad tag in metadata with its TPID, inner tag in the bytes.
		{data: arpFrame(tagQ), wireLen: len(qinq) - 4, ts: t0.Add(2), vlan: true, tci: tagAD[1], tpid: tagAD[0], tpidSeen: true},
		// A frame that slipped past the kernel filter.
		{data: ipv4, wireLen: len(ipv4), ts: t0.Add(3)},
		// Truncated by the snaplen: wire length larger than the data.
		{data: arp[:30], wireLen: 1500, ts: t0.Add(4)},
	})
	f := &filler{pool: newBatchPool(batchBytes, nil), iface: 2, snap: DefaultSnapLen, match: mustParse(t, "arp")}
	var got []*Batch
	emit := func(b *Batch) bool { got = append(got, b); return true }
	if !f.fillBlock(blk, emit) || !f.flush(emit, true) {
		t.Fatal("fillBlock or flush stopped")
	}
	if len(got) != 1 || got[0].Iface != 2 {
		t.Fatalf("got %d batches, want 1 for interface 2", len(got))
	}
	type frame struct {
		Time   time.Time
		Length int
		Data   []byte
	}
	want := []frame{
		{t0, 60, arp},
		{t0.Add(1), len(pcp), pcp},
		{t0.Add(2), len(qinq), qinq},
		{t0.Add(4), 1500, arp[:30]},
	}
	var frames []frame
	for _, fr := range got[0].Frames {
		frames = append(frames, frame{fr.Time.UTC(), fr.Length, fr.Data})
	}
	if diff := cmp.Diff(want, frames); diff != "" {
		t.Errorf("frames (-want +got):\n%s", diff)
	}
	if f.rejected != 1 || f.delivered != 4 {
		t.Errorf("rejected %d, delivered %d; want 1, 4", f.rejected, f.delivered)
	}
	got[0].Release()
}

func TestFillBlockSplitsBatches(t *testing.T) {
	frames := make([]ringFrame, 1500)
	for i := range frames {
		frames[i] = ringFrame{data: arpFrame(), wireLen: 42, ts: time.Unix(1, int64(i))}
	}
	f := &filler{pool: newBatchPool(batchBytes, nil), snap: DefaultSnapLen}
	var sizes []int
	var drained []bool
	emit := func(b *Batch) bool {
		sizes, drained = append(sizes, len(b.Frames)), append(drained, b.Drained)
		b.Release()
		return true
	}
	f.fillBlock(makeBlock(blockSize, frames), emit)
	f.flush(emit, true)
	if diff := cmp.Diff([]int{batchFrames, 1500 - batchFrames}, sizes); diff != "" {
		t.Errorf("batch sizes (-want +got):\n%s", diff)
	}
	// Only the batch handed on because the ring ran dry is marked drained;
	// a reused batch does not keep the mark.
	f.fillBlock(makeBlock(blockSize, frames), emit)
	f.flush(emit, false)
	if diff := cmp.Diff([]bool{false, true, false, false}, drained); diff != "" {
		t.Errorf("Drained marks (-want +got):\n%s", diff)
	}

	// Big frames fill the buffer before 256 frames.
	big := make([]ringFrame, 10)
	for i := range big {
		big[i] = ringFrame{data: make([]byte, 60000), wireLen: 60000}
	}
	sizes = nil
	f.fillBlock(makeBlock(1<<20, big), emit)
	f.flush(emit, true)
	if diff := cmp.Diff([]int{4, 4, 2}, sizes); diff != "" {
		t.Errorf("batch sizes for 60000-byte frames (-want +got):\n%s", diff)
	}

	// emit refusing (ctx cancelled) stops the walk.
	calls := 0
	stop := func(b *Batch) bool { calls++; b.Release(); return false }
	if f.fillBlock(makeBlock(blockSize, frames), stop) || calls != 1 {
		t.Errorf("fillBlock went on after emit refused (%d calls)", calls)
	}
	f.drop()
}

func TestSnapLenCapsTaggedFrames(t *testing.T) {
	data := make([]byte, 200)
	copy(data, arpFrame())
	f := &filler{pool: newBatchPool(batchBytes, nil), snap: 100}
	var got *Batch
	f.fillBlock(makeBlock(blockSize, []ringFrame{{data: data, wireLen: 200, vlan: true, tci: 5}}), nil)
	f.flush(func(b *Batch) bool { got = b; return true }, true)
	if got == nil || len(got.Frames) != 1 || len(got.Frames[0].Data) != 100 || got.Frames[0].Length != 204 {
		t.Fatalf("got %+v, want one frame of 100 bytes, length 204", got)
	}
}

func TestBatchPoolBounded(t *testing.T) {
	done := make(chan struct{})
	p := newBatchPool(batchBytes, done)
	var out []*Batch
	for range poolMax {
		out = append(out, p.get(0))
	}
	got := make(chan *Batch)
	go func() { got <- p.get(1) }()
	select {
	case <-got:
		t.Fatal("get returned a batch beyond poolMax")
	case <-time.After(50 * time.Millisecond):
	}
	out[3].Release()
	if b := <-got; b != out[3] || b.Iface != 1 {
		t.Errorf("get after Release = %p (Iface %d), want the released batch %p with Iface 1", b, b.Iface, out[3])
	}
	go func() { got <- p.get(2) }()
	close(done)
	if b := <-got; b != nil {
		t.Errorf("get after done = %p, want nil", b)
	}
}

func TestBatchReleaseTwicePanics(t *testing.T) {
	b := newBatchPool(batchBytes, nil).get(0)
	b.Release()
	defer func() {
		if recover() == nil {
			t.Error("second Release did not panic")
		}
	}()
	b.Release()
}

// stormBlock is a full block of ARP frames, as under a storm.
func stormBlock(tagged bool) ([]byte, int) {
	var frames []ringFrame
	for off := bdHeaderLen; off+160 < blockSize; off += 128 {
		frames = append(frames, ringFrame{data: arpFrame(), wireLen: 42, ts: time.Unix(1, int64(off)), vlan: tagged, tci: 5})
	}
	return makeBlock(blockSize, frames), len(frames)
}

func TestFillBlockDoesNotAllocate(t *testing.T) {
	for _, tagged := range []bool{false, true} {
		blk, n := stormBlock(tagged)
		f := &filler{pool: newBatchPool(batchBytes, nil), snap: DefaultSnapLen, match: mustParse(t, "arp")}
		emit := func(b *Batch) bool { b.Release(); return true }
		allocs := testing.AllocsPerRun(50, func() {
			f.fillBlock(blk, emit)
			f.flush(emit, true)
		})
		if allocs != 0 {
			t.Errorf("tagged=%v: %v allocations per block of %d frames, want 0", tagged, allocs, n)
		}
	}
}

// BenchmarkFillBlock measures the per-frame path from a full ring block of
// ARP frames into batches (what Live does between two polls).
func BenchmarkFillBlock(b *testing.B) {
	for _, tagged := range []bool{false, true} {
		name := "untagged"
		if tagged {
			name = "tagged"
		}
		b.Run(name, func(b *testing.B) {
			blk, n := stormBlock(tagged)
			f := &filler{pool: newBatchPool(batchBytes, nil), snap: DefaultSnapLen, match: mustParse(b, "arp")}
			emit := func(bt *Batch) bool { bt.Release(); return true }
			b.ReportAllocs()
			for b.Loop() {
				f.fillBlock(blk, emit)
				f.flush(emit, true)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/frame")
		})
	}
}
