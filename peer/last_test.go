package peer

import (
	"net"
	"testing"
	"time"

	"github.com/arpbox/arpbox/bundle"
)

// TestLast: Last is the latest incident broadcast, with its peers' states
// as they change.
func TestLast(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there yet
	f := runFleet(t, "http://"+addr, writeToken(t, testToken), time.Minute)
	if id, st := f.Last(); id != "" || st != nil {
		t.Errorf("before any incident: %q %+v", id, st)
	}
	f.Broadcast(incidentEvent("inc-last-1", time.Now()))
	f.Broadcast(incidentEvent("inc-last-2", time.Now()))
	id, st := f.Last()
	if id != "inc-last-2" || len(st) != 1 || st[0].Name != "server" || st[0].State != bundle.PeerPending {
		t.Fatalf("after two incidents: %q %+v, want inc-last-2 pending", id, st)
	}
	st[0].State = "changed by the caller"
	if _, st := f.Last(); st[0].State != bundle.PeerPending {
		t.Error("Last returned the fleet's own slice")
	}
	servePeer(t, addr, time.Time{})
	waitState(t, f, "inc-last-2", 15*time.Second)
	if id, st := f.Last(); id != "inc-last-2" || st[0].State != bundle.PeerOK {
		t.Errorf("once the peer is back: %q %+v, want ok", id, st)
	}
}
