package snapshot

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/arpbox/arpbox/bundle"
	"github.com/arpbox/arpbox/netstate"
)

// TestJournalSameBytes: journal.json written through bundle is byte for byte
// what netstate.WriteChangesJSON wrote before, so old and new bundles read
// the same.
func TestJournalSameBytes(t *testing.T) {
	T := time.Date(2026, 11, 26, 12, 0, 10, 123456789, time.UTC)
	mac, _ := net.ParseMAC("02:00:00:00:00:05")
	cs := []netstate.Change{
		{Time: T, Kind: "neighbor", Iface: "eth1", IP: netip.MustParseAddr("10.0.0.5"), MAC: mac, State: "STALE", Detail: "REACHABLE -> STALE"},
		{Time: T.Add(time.Second), Kind: "neighbor", Iface: "eth1", IP: netip.MustParseAddr("fe80::5"), State: "FAILED", Detail: "INCOMPLETE -> FAILED <&>"},
		{Time: T.Add(2 * time.Second), Kind: "link", Iface: "eth1", State: "DOWN", Detail: "carrier lost, oper UP -> DOWN"},
	}
	for _, tc := range [][]netstate.Change{cs, nil} {
		var want, got bytes.Buffer
		if err := netstate.WriteChangesJSON(&want, tc); err != nil {
			t.Fatal(err)
		}
		if err := bundle.WriteJournal(&got, journalEntries(tc)); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("journal.json differs:\n got %s\nwant %s", got.Bytes(), want.Bytes())
		}
	}
}
