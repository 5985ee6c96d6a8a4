package configs

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/arpbox/arpbox/internal/nstest"
)

// TestDiskWarnings: a ring whose max_size exceeds its (small tmpfs) file
// system, or which with snapshots.max_size on the same one does, is
// warned about; one that fits is not.
func TestDiskWarnings(t *testing.T) {
	nstest.RequireRoot(t, "mount", "umount")
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("skipping: cannot mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	for _, tc := range []struct {
		name          string
		ringMax, snap int64
		want          string
	}{
		{name: "fits", ringMax: 4 << 20, snap: 4 << 20},
		{name: "ring larger than the disk", ringMax: 1 << 30, snap: 1 << 20, want: "ring.max_size (1073741824 bytes) exceeds the file system"},
		{name: "ring plus snapshots larger", ringMax: 8 << 20, snap: 10 << 20, want: "ring.max_size plus snapshots.max_size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c Config
			c.Ring.Dir, c.Ring.MaxBytes = dir+"/ring", tc.ringMax
			c.Snapshots.Dir, c.Snapshots.MaxSize = dir+"/snapshots", tc.snap
			got := strings.Join(c.DiskWarnings(), "\n")
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Errorf("DiskWarnings() = %q, want %q", got, tc.want)
			}
		})
	}
}
