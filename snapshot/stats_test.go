package snapshot

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestWindowDrops(t *testing.T) {
	run1, run2 := at(0), at(time.Hour)
	stats := func(start time.Time, when time.Duration, recv, drop uint64) ifaceStats {
		return ifaceStats{Start: start, Time: at(when), Received: recv, Dropped: drop, HasRecv: true, HasDrop: true}
	}
	tests := []struct {
		name           string
		base, last     ifaceStats
		haveBase, have bool
		want           dropCount
	}{
		{"no statistics", ifaceStats{}, ifaceStats{}, false, false, dropCount{Kind: "unknown"}},
		{"no baseline", ifaceStats{}, stats(run1, 2*time.Minute, 100, 7), false, true,
			dropCount{Kind: "cumulative", To: at(2 * time.Minute), Received: 100, Dropped: 7, HasRecv: true, HasDrop: true}},
		{"same run", stats(run1, time.Minute, 60, 5), stats(run1, 2*time.Minute, 100, 7), true, true,
			dropCount{Kind: "window", From: at(time.Minute), To: at(2 * time.Minute), Received: 40, Dropped: 2, HasRecv: true, HasDrop: true}},
		// arpbox restarted inside the window: the counters started over, so
		// subtracting the old run's would be a wrong figure.
		{"restart in the window", stats(run1, time.Minute, 60, 5), stats(run2, 2*time.Hour, 100, 7), true, true,
			dropCount{Kind: "cumulative", To: at(2 * time.Hour), Received: 100, Dropped: 7, HasRecv: true, HasDrop: true}},
	}
	for _, tt := range tests {
		got := windowDrops(tt.base, tt.last, tt.haveBase, tt.have)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}
