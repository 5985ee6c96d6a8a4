package analyze

import (
	"bytes"
	"io"
	"testing"
	"time"

	at "github.com/arpbox/arpbox/analyze/analyzetest"
)

func FuzzDecode(f *testing.F) {
	gw, srv := at.MAC("02:00:00:00:00:01"), at.MAC("02:00:00:00:00:05")
	for _, s := range [][]byte{
		at.Request(gw, "10.0.0.1", "10.0.0.5", 10, 20),
		at.Reply(srv, "10.0.0.5", gw, "10.0.0.1"),
		at.NeighborSolicitation(gw, "2001:db8::1", "2001:db8::5"),
		at.NeighborAdvertisement(srv, "2001:db8::5", gw, "2001:db8::1"),
		{},
	} {
		f.Add(LinkEthernet, s)
	}
	f.Add(LinkLinuxSLL, make([]byte, 44))
	f.Add(LinkSLL2, make([]byte, 48))
	// The other link types and the tunnels (outer.go).
	links, frames, _ := at.EncapFrames(time.Unix(1e9, 0))
	for _, fr := range frames {
		f.Add(int(links[fr.Iface]), fr.Data)
	}
	for _, l := range []int{0, 101, 105, 108, 119, 163, 192, 228, 229, 242} {
		f.Add(l, make([]byte, 64))
	}
	f.Fuzz(func(t *testing.T, link int, b []byte) {
		var p, w Packet
		err := decode(link, b, &p)
		if werr := decodeWire(link, b, &w); err != werr || (err == errNone && p != w) {
			t.Fatalf("decode: %v %+v; decodeWire: %v %+v", err, p, werr, w)
		}
		if err == errNone {
			_ = p.Kind()
			e := newEngine(engineConfig{timeout: 1e9, stormRate: 50, maxTargets: 16, maxExchanges: 16, exchanges: true})
			e.observe(1, &p, Ref{})
			e.observe(2e9, &p, Ref{})
			e.finish(0)
		}
	})
}

// FuzzReader feeds arbitrary bytes as a capture file through the whole
// analysis: no panic, and memory bounded by the block size limit.
func FuzzReader(f *testing.F) {
	var ng, pc bytes.Buffer
	fs := []at.Frame{
		{Time: time.Unix(1e9, 0), Data: at.Request(at.MAC("02:00:00:00:00:01"), "10.0.0.1", "10.0.0.5")},
		{Time: time.Unix(1e9, 1e6), Data: at.Reply(at.MAC("02:00:00:00:00:05"), "10.0.0.5", at.MAC("02:00:00:00:00:01"), "10.0.0.1")},
	}
	at.WritePcapNG(&ng, fs)
	at.WritePcap(&pc, 0, fs)
	f.Add(ng.Bytes())
	f.Add(pc.Bytes())
	f.Add(ng.Bytes()[:ng.Len()-5])
	f.Fuzz(func(t *testing.T, b []byte) {
		pr, err := NewPacketReader(bytes.NewReader(b))
		if err != nil {
			return
		}
		e := newEngine(engineConfig{timeout: 1e9, stormRate: 50, maxTargets: 64, maxExchanges: 64, exchanges: true})
		var rec Record
		var p Packet
		for i := 0; i < 1<<16; i++ {
			err := pr.Next(&rec)
			if err == io.EOF || err != nil {
				break
			}
			if len(rec.Data) > maxBlock {
				t.Fatalf("record of %d bytes", len(rec.Data))
			}
			if decode(rec.Link, rec.Data, &p) == errNone {
				e.observe(rec.Time, &p, Ref{Frame: uint64(i + 1)})
			}
		}
		e.finish(0)
	})
}
