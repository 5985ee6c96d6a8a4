package peer

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/arpbox/arpbox/bundle"
	"github.com/arpbox/arpbox/control"
)

const testToken = "peer-test-token-7c1d"

// peerHost is a Responder served by a real control.HTTPServer on loopback,
// behind the token, recording the events it was asked to freeze.
type peerHost struct {
	addr string
	mu   sync.Mutex
	evs  []bundle.Event
	// refuse, when set, is returned by Snapshot.
	refuse error
	stop   func()
}

func (h *peerHost) events() []bundle.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]bundle.Event(nil), h.evs...)
}

// servePeer serves a Responder on addr ("127.0.0.1:0" for any port).
func servePeer(t *testing.T, addr string, oldest time.Time) *peerHost {
	t.Helper()
	h := &peerHost{}
	resp := NewResponder(ResponderOptions{
		Host: "server1",
		Snapshot: func(ev bundle.Event) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			if h.refuse != nil {
				return h.refuse
			}
			h.evs = append(h.evs, ev)
			return nil
		},
		Oldest: func() time.Time { return oldest },
	})
	srv := control.NewHTTPServer(control.HTTPConfig{Addr: addr, Token: testToken}, control.API{}, nil).WithFleet(control.FleetAPI{
		Incident: func(_ context.Context, body []byte) (any, error) {
			rep, err := resp.Handle(body)
			switch {
			case errors.Is(err, ErrRequest):
				return nil, errors.Join(control.ErrBadRequest, err)
			case errors.Is(err, ErrGone):
				return nil, errors.Join(control.ErrGone, err)
			case err != nil:
				return nil, errors.Join(control.ErrConflict, err)
			}
			return rep, nil
		},
	})
	ln, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	h.addr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); srv.Run(ctx, ln) }()
	var once sync.Once
	h.stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(h.stop)
	return h
}

func writeToken(t *testing.T, tok string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(p, []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// runFleet runs a Fleet of one peer at url until the test ends.
func runFleet(t *testing.T, url, tokenFile string, retryFor time.Duration) *Fleet {
	t.Helper()
	f, err := New([]Config{{Name: "server", URL: url, TokenFile: tokenFile, RetryFor: retryFor}},
		Options{Host: "gw1", MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return f
}

// waitState waits until the peer's state for incident is not pending.
func waitState(t *testing.T, f *Fleet, incident string, d time.Duration) bundle.ManifestPeer {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		st := f.Status(incident)
		if len(st) != 1 {
			t.Fatalf("status of %s: %+v, want one peer", incident, st)
		}
		if st[0].State != bundle.PeerPending || time.Now().After(deadline) {
			return st[0]
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func incidentEvent(id string, t time.Time) bundle.Event {
	return bundle.Event{Trigger: "web1", Check: "tcp", Reason: "3 consecutive failures", Time: t, Incident: id,
		Before: 10 * time.Minute, After: time.Minute}
}

// TestPeerFreezesOnce: the peer freezes the initiator's incident, with the
// same id, T and window, records the clock evidence, and a second request
// for the same incident is answered without freezing again.
func TestPeerFreezesOnce(t *testing.T) {
	h := servePeer(t, "127.0.0.1:0", time.Time{})
	f := runFleet(t, "http://"+h.addr, writeToken(t, testToken), time.Minute)
	T := time.Now().Add(-2 * time.Second)
	ev := incidentEvent("20261130T080005Z-gw1-0a0b0c0d", T)
	f.Broadcast(ev)
	st := waitState(t, f, ev.Incident, 10*time.Second)
	if st.State != bundle.PeerOK || st.Host != "server1" || st.Attempts != 1 || st.OffsetMS == nil || st.RTTMS == nil {
		t.Fatalf("peer state %+v", st)
	}
	// Same kernel clock: the offset is within the round trip.
	if *st.OffsetMS < -*st.RTTMS-1 || *st.OffsetMS > *st.RTTMS+1 || *st.RTTMS > 2000 {
		t.Errorf("offset %v ms, rtt %v ms: want |offset| <= rtt on one host", *st.OffsetMS, *st.RTTMS)
	}
	evs := h.events()
	if len(evs) != 1 {
		t.Fatalf("peer froze %d times, want 1", len(evs))
	}
	got := evs[0]
	if got.Incident != ev.Incident || got.Check != CheckPeer || got.Trigger != "peer-web1" || got.Target != "gw1" ||
		got.Before != ev.Before || got.After != ev.After || !strings.Contains(got.Reason, "peer gw1: 3 consecutive failures") {
		t.Errorf("peer event %+v", got)
	}
	o := got.Origin
	if o == nil || o.Host != "gw1" || !o.T.Equal(T) || o.Received.Before(o.Sent) || o.OffsetBoundMS < 0 {
		t.Fatalf("origin %+v", o)
	}
	// T on the peer's clock is the initiator's T moved by Received-Sent.
	if d := got.Time.Sub(T); d != o.Received.Sub(o.Sent) {
		t.Errorf("peer T is initiator T + %v, want + %v", d, o.Received.Sub(o.Sent))
	}

	// Broadcast again (a retried incident): answered, not frozen again.
	f.Broadcast(ev)
	st = waitState(t, f, ev.Incident, 10*time.Second)
	if st.State != bundle.PeerOK {
		t.Fatalf("second broadcast: %+v", st)
	}
	if n := len(h.events()); n != 1 {
		t.Errorf("peer froze %d times for one incident", n)
	}
}

// TestPeerDownThenBack: a peer that is not listening at the trigger is
// retried, and freezes the incident once it is back.
func TestPeerDownThenBack(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	f := runFleet(t, "http://"+addr, writeToken(t, testToken), time.Minute)
	ev := incidentEvent("inc-down-then-back", time.Now())
	f.Broadcast(ev)
	time.Sleep(600 * time.Millisecond)
	st := f.Status(ev.Incident)[0]
	if st.State != bundle.PeerPending || st.Attempts < 2 || !strings.Contains(st.Error, addr) { // "connection refused" in words that differ by platform
		t.Fatalf("while down: %+v, want pending after several refused attempts", st)
	}
	h := servePeer(t, addr, time.Time{})
	st = waitState(t, f, ev.Incident, 15*time.Second)
	if st.State != bundle.PeerOK || len(h.events()) != 1 {
		t.Fatalf("after coming back: %+v, %d events", st, len(h.events()))
	}
}

func TestPeerMissing(t *testing.T) {
	t.Run("a wrong token is not retried", func(t *testing.T) {
		h := servePeer(t, "127.0.0.1:0", time.Time{})
		f := runFleet(t, "http://"+h.addr, writeToken(t, "wrong-token"), time.Minute)
		ev := incidentEvent("inc-wrong-token", time.Now())
		f.Broadcast(ev)
		st := waitState(t, f, ev.Incident, 10*time.Second)
		if st.State != bundle.PeerMissing || st.Attempts != 1 || !strings.Contains(st.Error, "401") {
			t.Fatalf("%+v", st)
		}
	})
	t.Run("a ring that no longer holds the window ends the retries", func(t *testing.T) {
		h := servePeer(t, "127.0.0.1:0", time.Now().Add(time.Hour))
		f := runFleet(t, "http://"+h.addr, writeToken(t, testToken), time.Minute)
		ev := incidentEvent("inc-gone", time.Now())
		f.Broadcast(ev)
		st := waitState(t, f, ev.Incident, 10*time.Second)
		if st.State != bundle.PeerMissing || st.Attempts != 1 || !strings.Contains(st.Error, "410") || !strings.Contains(st.Error, "no longer holds") {
			t.Fatalf("%+v", st)
		}
	})
	t.Run("a peer down past retry_for is given up", func(t *testing.T) {
		f := runFleet(t, "http://127.0.0.1:1", writeToken(t, testToken), 500*time.Millisecond)
		ev := incidentEvent("inc-never", time.Now())
		f.Broadcast(ev)
		st := waitState(t, f, ev.Incident, 10*time.Second)
		if st.State != bundle.PeerMissing || st.Attempts < 2 || !strings.Contains(st.Error, "gave up after") {
			t.Fatalf("%+v", st)
		}
	})
	t.Run("a busy peer is retried", func(t *testing.T) {
		h := servePeer(t, "127.0.0.1:0", time.Time{})
		h.mu.Lock()
		h.refuse = errors.New("cooling down")
		h.mu.Unlock()
		f := runFleet(t, "http://"+h.addr, writeToken(t, testToken), time.Minute)
		ev := incidentEvent("inc-busy", time.Now())
		f.Broadcast(ev)
		time.Sleep(400 * time.Millisecond)
		h.mu.Lock()
		h.refuse = nil
		h.mu.Unlock()
		st := waitState(t, f, ev.Incident, 10*time.Second)
		if st.State != bundle.PeerOK || st.Attempts < 2 {
			t.Fatalf("%+v", st)
		}
	})
}

func TestOffset(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	ms := time.Millisecond
	// The peer's clock is 5 s ahead; 2 ms each way; 30 ms at the peer.
	off, rtt := offset(t0, t0.Add(5*time.Second+2*ms), t0.Add(5*time.Second+32*ms), t0.Add(34*ms))
	if diff := cmp.Diff([2]time.Duration{5 * time.Second, 4 * ms}, [2]time.Duration{off, rtt}); diff != "" {
		t.Error(diff)
	}
}

func TestRequestRefused(t *testing.T) {
	r := NewResponder(ResponderOptions{Host: "x", Snapshot: func(bundle.Event) error { t.Error("froze"); return nil }})
	ok := `"t":"2026-11-30T08:00:00Z","sent":"2026-11-30T08:00:00Z","before_ms":1000,"after_ms":0`
	for _, body := range []string{
		`{`, `[]`, `{"incident":"a/b","from_peer":true,` + ok + `}`,
		`{"incident":"a","from_peer":false,` + ok + `}`,
		`{"incident":"a","from_peer":true,"before_ms":1000}`,
		`{"incident":"a","from_peer":true,"t":"2026-11-30T08:00:00Z","sent":"2026-11-30T08:00:00Z","before_ms":0}`,
		`{"incident":"a","from_peer":true,"t":"2026-11-30T08:00:00Z","sent":"2026-11-30T08:00:00Z","before_ms":90000000}`,
		`{"incident":"a","from_peer":true,"t":"2026-11-30T08:00:00Z","sent":"2026-11-30T08:00:00Z","before_ms":1000,"after_ms":7200000}`,
		// T an hour after the request was sent: the after-window would hold the peer's snapshotter.
		`{"incident":"a","from_peer":true,"t":"2026-11-30T09:00:00Z","sent":"2026-11-30T08:00:00Z","before_ms":1000}`,
	} {
		if _, err := r.Handle([]byte(body)); !errors.Is(err, ErrRequest) {
			t.Errorf("%s: %v, want ErrRequest", body, err)
		}
	}
}

func TestNewIncidentID(t *testing.T) {
	id := NewIncidentID("gw 1/x", time.Date(2026, 11, 30, 8, 0, 5, 0, time.UTC))
	if !bundle.ValidID(id) || !strings.HasPrefix(id, "20261130T080005Z-gw_1_x-") || len(id) != len("20261130T080005Z-gw_1_x-")+8 {
		t.Errorf("id %q", id)
	}
	if NewIncidentID("h", time.Now()) == NewIncidentID("h", time.Now()) {
		t.Error("two ids alike")
	}
}

func FuzzRequest(f *testing.F) {
	f.Add([]byte(`{"incident":"a","from_peer":true,"t":"2026-11-30T08:00:00Z","sent":"2026-11-30T08:00:00Z","before_ms":1000,"after_ms":5}`))
	f.Add([]byte(`{"incident":"..","host":"\u202e","reason":"\n"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewResponder(ResponderOptions{Host: "x", Snapshot: func(ev bundle.Event) error {
			if ev.Incident == "" || ev.Origin == nil || ev.Before <= 0 {
				t.Errorf("froze %+v", ev)
			}
			return nil
		}})
		rep, err := r.Handle(b)
		if err == nil && (rep.Received.IsZero() || rep.Sent.IsZero()) {
			t.Errorf("reply %+v", rep)
		}
	})
}
