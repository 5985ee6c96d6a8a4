//go:build unix

package analyze_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arpbox/arpbox/analyze"
	at "github.com/arpbox/arpbox/analyze/analyzetest"
	"github.com/arpbox/arpbox/bundle"
)

// TestRefusesFIFOsAndDevices: a FIFO (as the input, or as a bundle's
// capture or manifest) or a device is refused, not read forever.
func TestRefusesFIFOsAndDevices(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "capture.pcap")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	bdir := filepath.Join(dir, "bundle")
	mkdir(t, bdir)
	var ng bytes.Buffer
	at.WritePcapNG(&ng, scenarios()[0].sides["unanswered"])
	os.WriteFile(filepath.Join(bdir, bundle.FileCapturePlain), ng.Bytes(), 0o644)
	if err := syscall.Mkfifo(filepath.Join(bdir, bundle.FileManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	bdir2 := filepath.Join(dir, "bundle2")
	mkdir(t, bdir2)
	if err := syscall.Mkfifo(filepath.Join(bdir2, bundle.FileCapture), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path   string
		wantOK bool // the report is written, without what was refused
	}{{fifo, false}, {"/dev/zero", false}, {bdir, true}, {bdir2, false}} {
		done := make(chan error, 1)
		go func() {
			_, err := analyze.Analyze(context.Background(), []string{tc.path}, analyze.Options{})
			done <- err
		}()
		select {
		case err := <-done:
			if tc.wantOK != (err == nil) {
				t.Errorf("%s: error %v, want ok=%v", tc.path, err, tc.wantOK)
			}
			if err != nil && !strings.Contains(err.Error(), "FIFO") && !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s: error %v does not say why", tc.path, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the report hangs", tc.path)
		}
	}
}
