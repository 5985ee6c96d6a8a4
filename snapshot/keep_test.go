package snapshot

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/arpbox/arpbox/bundle"
	"github.com/arpbox/arpbox/internal/wine"
)

// Retention holds the bundles Options.Keep names (not yet uploaded):
// max_count never removes them; max_size removes the others first and
// them only when it must.
func TestRetentionKeep(t *testing.T) {
	wine.SkipIf(t, wineDeletePending)
	ringDir := filepath.Join(t.TempDir(), "ring")
	r := newTestRing(t, ringDir, []string{"eth0"}, t0)
	for i := range 2000 {
		r.packet(0, at(time.Duration(i)*10*time.Millisecond), uint32(i))
	}
	r.flush()
	const b0, b1, b2, b3, b4 = "20261126T010010Z-t", "20261126T010011Z-t", "20261126T010012Z-t", "20261126T010013Z-t", "20261126T010014Z-t"
	all := map[string]bool{b0: true, b1: true, b2: true, b3: true, b4: true}
	tests := []struct {
		name     string
		maxCount int
		maxSize  func(one int64) int64
		held     map[string]bool
		want     []string
	}{
		{"count never removes a held bundle", 2, func(int64) int64 { return 1 << 40 }, map[string]bool{b0: true, b2: true}, []string{b0, b2, b4}},
		{"count: all held, all kept", 2, func(int64) int64 { return 1 << 40 }, all, []string{b0, b1, b2, b3, b4}},
		{"size removes the others first", 50, func(one int64) int64 { return one*3 + one/2 }, map[string]bool{b0: true, b2: true}, []string{b0, b2, b4}},
		{"size forces removing held bundles", 50, func(one int64) int64 { return one + one/2 }, all, []string{b4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "snap")
			cfg := testConfig(dir)
			cfg.Before, cfg.After = 5*time.Second, 0
			res := runSnapshot(t, cfg, ringDir, bundle.Event{Trigger: "t", Check: "manual", Reason: "r", Time: at(10 * time.Second)}, Options{})
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			infos, _ := List(dir)
			one := infos[0].Size
			os.RemoveAll(res.Dir)
			os.Remove(res.Zip)
			cfg.MaxCount, cfg.MaxSize = tc.maxCount, tc.maxSize(one)
			opts := Options{Keep: func(id string) bool { return tc.held[id] }}
			for i := range 5 {
				res := runSnapshot(t, cfg, ringDir, bundle.Event{Trigger: "t", Check: "manual", Reason: "r", Time: at(time.Duration(10+i) * time.Second)}, opts)
				if res.Err != nil {
					t.Fatal(res.Err)
				}
			}
			infos, _ = List(dir)
			var got []string
			for _, in := range infos {
				got = append(got, in.ID)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("bundles kept (-want +got):\n%s", diff)
			}
		})
	}
}
