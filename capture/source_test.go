package capture

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// toChan is a deliver function that hands batches to a test's channel:
// it waits for room while ctx lives, and after ctx is cancelled (the
// source's last frames) for a second at most before releasing the batch.
func toChan(ctx context.Context, out chan<- *Batch) func(*Batch) {
	return func(b *Batch) {
		if ctx.Err() == nil {
			select {
			case out <- b:
				return
			case <-ctx.Done():
			}
		}
		t := time.NewTimer(time.Second)
		defer t.Stop()
		select {
		case out <- b:
		case <-t.C:
			b.Release()
		}
	}
}

// sourceFrame is a delivered frame, copied out of its batch.
type sourceFrame struct {
	Iface int
	Time  time.Time
	Data  []byte
}

// writeTwoIfacePcapng writes n ARP-ish frames alternating between two
// pcapng interfaces, and returns the file and what a source should deliver.
func writeTwoIfacePcapng(t *testing.T, n int) (string, []sourceFrame) {
	t.Helper()
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{Name: "eth0", LinkType: layers.LinkTypeEthernet, SnapLength: 65535},
		pcapgo.NgWriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.AddInterface(pcapgo.NgInterface{Name: "eth1", LinkType: layers.LinkTypeEthernet, SnapLength: 65535}); err != nil {
		t.Fatal(err)
	}
	var want []sourceFrame
	t0 := time.Date(2026, 11, 30, 5, 0, 0, 0, time.UTC)
	for i := range n {
		data := make([]byte, 42)
		copy(data, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, byte(i)})
		data[12], data[13] = 0x08, 0x06
		data[41] = byte(i)
		f := sourceFrame{Iface: i % 2, Time: t0.Add(time.Duration(i) * time.Millisecond), Data: data}
		ci := gopacket.CaptureInfo{Timestamp: f.Time, CaptureLength: len(data), Length: len(data), InterfaceIndex: f.Iface}
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
		want = append(want, f)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "two.pcapng")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, want
}

// runSource runs src to its end, collecting what it delivers on Run's
// goroutine (the Source contract) and releasing every batch.
func runSource(ctx context.Context, src Source) ([]sourceFrame, error) {
	var got []sourceFrame
	err := src.Run(ctx, func(b *Batch) {
		for _, f := range b.Frames {
			got = append(got, sourceFrame{b.Iface, f.Time.UTC(), bytes.Clone(f.Data)})
		}
		b.Release()
	})
	return got, err
}

func TestFileSource(t *testing.T) {
	// More frames than the pool's batches hold, so the source waits for
	// the Releases that deliver does.
	const n = 40000
	path, want := writeTwoIfacePcapng(t, n)
	src := NewFileSource(path, Filter{})
	names, err := src.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"eth0", "eth1"}, names); d != "" {
		t.Errorf("Interfaces (-want +got):\n%s", d)
	}
	got, err := runSource(context.Background(), src)
	if err != nil {
		t.Fatalf("Run = %v, want nil at the end of the file", err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("delivered frames (-want +got):\n%s", d)
	}
	if d := cmp.Diff(Stats{Received: n}, src.Stats()); d != "" {
		t.Errorf("Stats (-want +got):\n%s", d)
	}
}

func TestFileSourceTornFile(t *testing.T) {
	path, want := writeTwoIfacePcapng(t, 10)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	torn := filepath.Join(t.TempDir(), "torn.pcapng")
	if err := os.WriteFile(torn, raw[:len(raw)-10], 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := runSource(context.Background(), NewFileSource(torn, Filter{}))
	if !errors.Is(err, ErrTruncated) {
		t.Errorf("Run on a torn file = %v, want ErrTruncated", err)
	}
	if d := cmp.Diff(want[:9], got); d != "" {
		t.Errorf("frames before the tear (-want +got):\n%s", d)
	}
}

func TestFileSourceCancelAndMissing(t *testing.T) {
	path, _ := writeTwoIfacePcapng(t, 40000)
	ctx, cancel := context.WithCancel(context.Background())
	src := NewFileSource(path, Filter{})
	var frames int
	err := src.Run(ctx, func(b *Batch) {
		frames += len(b.Frames)
		b.Release()
		cancel() // after the first batch
	})
	if err != nil {
		t.Errorf("Run cancelled midway = %v, want nil", err)
	}
	if frames == 0 || frames >= 40000 {
		t.Errorf("Run cancelled after the first batch delivered %d frames, want some but not all", frames)
	}
	if _, err := runSource(context.Background(), NewFileSource(filepath.Join(t.TempDir(), "missing"), Filter{})); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Run on a missing file = %v, want os.ErrNotExist", err)
	}
}
