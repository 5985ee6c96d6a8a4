package snapshot

import (
	"bytes"
	"compress/gzip"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The capture's head member must read back as what was stored, keep its
// length whatever its content (the padding lives in the gzip extra field),
// and read as one stream with the member after it, in the standard
// library's gzip reader (the oracle) and in gunzip.
func TestGzipCaptureMembers(t *testing.T) {
	for _, n := range []int{0, 1, 100, 0xffff, 0x10000, 200_000} {
		a := bytes.Repeat([]byte{'a'}, n)
		b := bytes.Repeat([]byte{'b'}, n)
		ma, mb := appendStoredGzip(nil, a, 7), appendStoredGzip(nil, b, 7)
		if len(ma) != len(mb) || len(ma) != storedGzipLen(n, 7) {
			t.Errorf("%d bytes: member lengths %d and %d differ with the content, or from storedGzipLen %d", n, len(ma), len(mb), storedGzipLen(n, 7))
		}
		zr, err := gzip.NewReader(bytes.NewReader(ma))
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		got, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(got, a) {
			t.Errorf("%d bytes: read back %d bytes, err %v", n, len(got), err)
		}
	}

	path := filepath.Join(t.TempDir(), "c.gz")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	head := []byte(strings.Repeat(" ", 64))
	gc := newGzipCapture(f, len(head))
	body := bytes.Repeat([]byte("packet "), 100_000)
	// Written in pieces that straddle the end of the head.
	stream := append(slices.Clone(head), body...)
	for len(stream) > 0 {
		k := min(len(stream), 50)
		if _, err := gc.Write(stream[:k]); err != nil {
			t.Fatal(err)
		}
		stream = stream[k:]
	}
	if err := gc.close(); err != nil {
		t.Fatal(err)
	}
	if err := gc.rewriteHead(make([]byte, 64+headSlack+1)); err == nil {
		t.Error("rewriteHead grew the head past its slack")
	}
	// The head grows (and could shrink) without padding of its own.
	newHead := []byte(strings.Repeat("h", 64+headSlack/2))
	if err := gc.rewriteHead(newHead); err != nil {
		t.Fatal(err)
	}
	f.Close()
	raw, _ := os.ReadFile(path)
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if want := append(newHead, body...); !bytes.Equal(got, want) {
		t.Errorf("read %d bytes, want %d (head %q)", len(got), len(want), got[:min(len(got), 64)])
	}
	if len(raw) > len(body)/10 {
		t.Errorf("compressed to %d bytes of %d: the body is not compressed", len(raw), len(body))
	}
}

// A write error in the compressor reaches the writer, and the compressor
// goroutine stops (close returns, no hang).
func TestGzipCaptureWriteError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.gz")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	gc := newGzipCapture(f, 16)
	if _, err := gc.Write(make([]byte, 16)); err != nil {
		t.Fatal(err)
	}
	f.Close() // every write to the file fails from now on
	rng := rand.New(rand.NewPCG(3, 4))
	buf := make([]byte, 64<<10)
	done := make(chan error, 1)
	go func() {
		for range 256 { // 16 MiB of incompressible bytes
			for i := range buf {
				buf[i] = byte(rng.Uint32())
			}
			if _, err := gc.Write(buf); err != nil {
				gc.abort()
				done <- err
				return
			}
		}
		done <- gc.close()
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Error("writing to a closed file succeeded")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the capture writer hangs after a write error")
	}
}
