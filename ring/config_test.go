package ring

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestConfigWithDefaults(t *testing.T) {
	got := Config{Dir: "/r", MaxSegments: 3}.WithDefaults()
	want := Config{Dir: "/r", SegmentBytes: 10 << 20, SegmentAge: 5 * time.Minute, MaxBytes: 1 << 30, MaxSegments: 3, FlushInterval: time.Second}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("WithDefaults (-want +got):\n%s", diff)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // prefix of the error; "" = valid
	}{
		{"defaults", Config{Dir: "/r"}, ""},
		{"all set", Config{Dir: "/r", SegmentBytes: 1 << 20, SegmentAge: time.Minute, MaxBytes: 2 << 20, MaxSegments: 2, MinFreePercent: 5, MinFreeBytes: 1 << 30, FlushInterval: 200 * time.Millisecond}, ""},
		{"no dir", Config{}, "dir: "},
		{"small segment", Config{Dir: "/r", SegmentBytes: 1000}, "segment_size: must be at least 64KiB"},
		{"huge segment", Config{Dir: "/r", SegmentBytes: 5 << 30, MaxBytes: 20 << 30}, "segment_size: must be at most 4GiB"},
		{"short duration", Config{Dir: "/r", SegmentAge: time.Millisecond}, "segment_duration: "},
		{"max below two segments", Config{Dir: "/r", SegmentBytes: 1 << 20, MaxBytes: 1 << 20}, "max_size: "},
		{"negative segments", Config{Dir: "/r", MaxSegments: -1}, "max_segments: "},
		{"one segment", Config{Dir: "/r", MaxSegments: 1}, "max_segments: "},
		{"percent", Config{Dir: "/r", MinFreePercent: 95}, "min_free: "},
		{"negative free", Config{Dir: "/r", MinFreeBytes: -1}, "min_free: "},
		{"flush", Config{Dir: "/r", FlushInterval: time.Hour}, "flush_interval: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.want != "" && err == nil:
				t.Errorf("Validate() = nil, want %q...", tt.want)
			case tt.want != "" && !strings.HasPrefix(err.Error(), tt.want):
				t.Errorf("Validate() = %q, want prefix %q", err, tt.want)
			}
		})
	}
}
