package snapshot

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/arpbox/arpbox/bundle"
	"github.com/google/go-cmp/cmp"
)

// recordingStreamer records what its per-bundle StreamCollector sees.
type recordingStreamer struct {
	got chan []readPkt
}

func (recordingStreamer) Name() string { return "recorder" }
func (recordingStreamer) Collect(context.Context, *Bundle) error {
	panic("Collect called on the Streamer instead of its StreamCollector")
}
func (s recordingStreamer) Stream(*Bundle) StreamCollector { return &recordingSink{got: s.got} }

type recordingSink struct {
	got  chan []readPkt
	pkts []readPkt
	bad  int
}

func (*recordingSink) Name() string { return "recorder" }
func (k *recordingSink) Packet(ts int64, linkType int, data []byte) {
	if linkType != 1 {
		k.bad++
	}
	k.pkts = append(k.pkts, readPkt{TS: time.Unix(0, ts).UTC(), ID: frameID(data)})
}
func (k *recordingSink) Collect(_ context.Context, b *Bundle) error {
	if _, err := os.Stat(b.CapturePath); err != nil {
		return err
	}
	if k.bad > 0 {
		k.pkts = nil
	}
	k.got <- k.pkts
	return nil
}

// A Streamer sees every packet of the bundle's capture, in the capture's
// order, while it is written; its StreamCollector then collects.
func TestStreamerSeesTheCapture(t *testing.T) {
	ringDir := filepath.Join(t.TempDir(), "ring")
	r := newTestRing(t, ringDir, []string{"eth0", "eth1"}, t0)
	for i := range 300 {
		// eth1's packets are written late, out of time order in the file.
		if i%3 == 0 {
			r.packet(1, at(time.Duration(i)*10*time.Millisecond-300*time.Millisecond), uint32(i))
		} else {
			r.packet(0, at(time.Duration(i)*10*time.Millisecond), uint32(i))
		}
		if i == 150 {
			r.rotate(at(1500 * time.Millisecond))
		}
	}
	r.flush()
	st := recordingStreamer{got: make(chan []readPkt, 1)}
	res := runSnapshot(t, testConfig(filepath.Join(t.TempDir(), "snap")), ringDir,
		bundle.Event{Trigger: "x", Check: "manual", Reason: "r", Time: at(2 * time.Second)}, Options{Collectors: []Collector{st}})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	var got []readPkt
	select {
	case got = <-st.got:
	default:
		t.Fatal("the StreamCollector's Collect did not run")
	}
	pkts, _, _ := readCapture(t, filepath.Join(res.Dir, captureName))
	if len(pkts) == 0 {
		t.Fatal("empty capture")
	}
	var want []readPkt
	for _, p := range pkts {
		want = append(want, readPkt{TS: p.TS, ID: p.ID})
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("streamed packets (-capture +streamed):\n%s", diff)
	}
	for i := 1; i < len(got); i++ {
		if got[i].TS.Before(got[i-1].TS) {
			t.Fatalf("packet %d (%v) before packet %d (%v)", i+1, got[i].TS, i, got[i-1].TS)
		}
	}
}
