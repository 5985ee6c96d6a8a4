package upload_test

import (
	"strings"
	"testing"
	"time"

	"github.com/arpbox/arpbox/upload"
	"github.com/arpbox/arpbox/upload/uploadtest"
)

// TestUploaderState: State counts the queued bundles and keeps the last
// failed attempt's error until an upload succeeds.
func TestUploaderState(t *testing.T) {
	srv := uploadtest.Start(t, "arp-bundles")
	snaps, queueDir := t.TempDir(), t.TempDir()
	store, err := upload.Open(srv.Config("arp-bundles", "fleet", queueDir))
	if err != nil {
		t.Fatal(err)
	}
	u := upload.New(store, queueDir, upload.Options{MinBackoff: 100 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	if st := u.State(); st.Pending != -1 || st.LastError != "" || st.Store != "s3://arp-bundles/fleet" {
		t.Errorf("before Run: %+v, want pending -1 (no queue directory yet), no error", st)
	}
	srv.Stop()
	run(t, u)
	for _, id := range []string{"20261130T080000Z-a", "20261130T080001Z-b"} {
		if err := u.Enqueue(id, writeZip(t, snaps, id, "gw", 1000)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 30*time.Second, "a failed attempt in State", func() bool { return u.State().LastError != "" })
	st := u.State()
	if st.Pending != 2 || st.LastErrorID != "20261130T080000Z-a" || !strings.Contains(st.LastError, "connection refused") || st.LastErrorAt.IsZero() {
		t.Errorf("store down: %+v, want 2 pending and the refused connection of the oldest", st)
	}
	srv.Restart()
	waitFor(t, 30*time.Second, "the queue drained", func() bool { return u.State().Pending == 0 })
	if st := u.State(); st.LastError != "" || st.LastErrorID != "" || !st.LastErrorAt.IsZero() {
		t.Errorf("after the uploads: %+v, want the error cleared", st)
	}
}
