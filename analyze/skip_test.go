package analyze

import (
	"testing"

	at "github.com/arpbox/arpbox/analyze/analyzetest"
)

// TestSkipsBounded: past maxSkipCauses causes, frames are still counted,
// per reason: every frame not decoded is in some count, with its kind.
func TestSkipsBounded(t *testing.T) {
	gw := at.MAC("02:00:00:00:00:01")
	sr := &sideRun{in: &input{name: "x"}, files: []FileReport{{Name: "x.pcap"}}}
	var p Packet
	n := 0
	for h := range 200 {
		f := at.Ethernet(at.Broadcast, gw, 0x0806, at.ARPOfType(uint16(100+h), 0x0800, 6, 4, 1))
		e := decode(LinkEthernet, f, &p)
		sr.skips.add(e, p.why, Ref{Frame: uint64(h + 1)})
		n++
	}
	f := at.Ethernet(at.Broadcast, gw, 0x8035, at.ARPBody(3, gw, "0.0.0.0", gw, "0.0.0.0"))
	sr.skips.add(decode(LinkEthernet, f, &p), p.why, Ref{Frame: 201})
	n++
	var sum uint64
	kinds := map[string]uint64{}
	for _, x := range sr.skips.report(sr) {
		sum += x.Count
		kinds[x.Kind] += x.Count
	}
	if sum != uint64(n) || kinds[SkipARPType] != 200 || kinds[SkipRARP] != 1 {
		t.Errorf("counted %d of %d frames: %v", sum, n, kinds)
	}
	if got := len(sr.skips.report(sr)); got > maxSkipCauses+int(numDecodeErrors) {
		t.Errorf("%d causes listed", got)
	}
}

// TestLinkTypeName looks names up in the sorted table: first, last, one in
// between, and numbers it does not hold.
func TestLinkTypeName(t *testing.T) {
	for lt, want := range map[uint32]string{0: "0 (NULL)", 107: "107 (FRELAY)", 290: "290 (FIRA_UCI)", 2: "2", 291: "291", 1 << 31: "2147483648"} {
		if got := linkTypeName(lt); got != want {
			t.Errorf("linkTypeName(%d) = %q, want %q", lt, got, want)
		}
	}
	for i := 1; i < len(linkTypeNames); i++ {
		if linkTypeNames[i-1].lt >= linkTypeNames[i].lt {
			t.Fatalf("linkTypeNames not in order at %d: %d then %d", i, linkTypeNames[i-1].lt, linkTypeNames[i].lt)
		}
	}
}
