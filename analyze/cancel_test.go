package analyze

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/arpbox/arpbox/internal/pcapng"
)

// endless is a pcapng stream of a section, an interface and then
// interface statistics blocks without end: no packet, ever.
type endless struct {
	head, isb []byte
	pos       int // in isb
}

func (e *endless) Read(b []byte) (int, error) {
	if len(e.head) > 0 {
		n := copy(b, e.head)
		e.head = e.head[n:]
		return n, nil
	}
	n := 0
	for n < len(b) {
		c := copy(b[n:], e.isb[e.pos:])
		e.pos = (e.pos + c) % len(e.isb)
		n += c
	}
	return n, nil
}

// TestCancelStopsReading: a cancelled report stops even inside a run of
// blocks that are not packets (as Ctrl-C does for arpbox report).
func TestCancelStopsReading(t *testing.T) {
	var head bytes.Buffer
	w := pcapng.NewWriter(&head)
	w.WriteSection(pcapng.Section{})
	w.WriteInterface(pcapng.Interface{LinkType: 1})
	w.Flush()
	isb := make([]byte, 24)
	binary.LittleEndian.PutUint32(isb[0:], 5)
	binary.LittleEndian.PutUint32(isb[4:], 24)
	binary.LittleEndian.PutUint32(isb[20:], 24)
	src := source{name: "endless.pcapng", where: "endless.pcapng", size: 1 << 40, open: func() (io.ReadCloser, error) {
		return io.NopCloser(&endless{head: head.Bytes(), isb: isb}), nil
	}}
	in := &input{name: "endless", path: "endless", sources: []source{src}}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := readInput(ctx, in, engineConfig{timeout: 1e9, stormRate: 50, maxTargets: 16}, &progress{}, nil, time.Time{})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err %v, want the context's", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("reading did not stop when the context was done")
	}
}
