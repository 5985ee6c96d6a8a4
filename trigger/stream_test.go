package trigger

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/arpbox/arpbox/analyze"
	"github.com/arpbox/arpbox/analyze/analyzetest"
)

var (
	gwMAC  = analyzetest.MAC("02:00:00:00:00:01")
	beMAC  = analyzetest.MAC("02:00:00:00:00:05")
	vipMAC = analyzetest.MAC("02:00:00:00:00:06")
)

// The analyzer's live detector is the one the recorder passes in.
var _ Detector = (*analyze.Detector)(nil)

func streamSpec(check, target string) Spec {
	return Spec{Name: "s", Check: check, Target: target}.WithDefaults()
}

// TestARPUnanswered: the check fails once Threshold requests for the IP go
// unanswered within the window, and recovers when replies come back and the
// old requests age out of the window.
func TestARPUnanswered(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 12, 3, 0, 0, time.UTC)
	now := t0
	det := analyze.NewDetector(analyze.DetectorConfig{})
	c, err := newStreamCheck(streamSpec(CheckARPUnanswered, "10.0.0.5"), det, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	probe := func() error { return c.Probe(context.Background()) }

	// Healthy: a request and its reply.
	det.Observe(t0, analyzetest.Request(gwMAC, "10.0.0.1", "10.0.0.5"))
	det.Observe(t0.Add(time.Millisecond), analyzetest.Reply(beMAC, "10.0.0.5", gwMAC, "10.0.0.1"))
	now = t0.Add(2 * time.Second)
	if err := probe(); err != nil {
		t.Fatalf("answered request: %v", err)
	}
	// Two unanswered requests: below the default threshold of 3.
	for i := 1; i <= 2; i++ {
		det.Observe(t0.Add(time.Duration(i)*3*time.Second), analyzetest.Request(gwMAC, "10.0.0.1", "10.0.0.5"))
	}
	now = t0.Add(8 * time.Second)
	if err := probe(); err != nil {
		t.Fatalf("2 unanswered, threshold 3: %v", err)
	}
	det.Observe(t0.Add(9*time.Second), analyzetest.Request(gwMAC, "10.0.0.1", "10.0.0.5"))
	now = t0.Add(11 * time.Second) // past the 1 s reply timeout of the third
	err = probe()
	if err == nil {
		t.Fatal("3 unanswered requests within 30s: want a failure")
	}
	for _, want := range []string{"3 ARP requests for 10.0.0.5 unanswered", "last reply 12:03:00.001Z from 02:00:00:00:00:05"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("reason %q lacks %q", err, want)
		}
	}
	// Other addresses don't count.
	other, _ := newStreamCheck(streamSpec(CheckARPUnanswered, "10.0.0.6"), det, func() time.Time { return now })
	if err := other.Probe(context.Background()); err != nil {
		t.Errorf("10.0.0.6 was never asked for: %v", err)
	}
	// The unanswered requests age out of the window.
	now = t0.Add(45 * time.Second)
	if err := probe(); err != nil {
		t.Errorf("requests older than the window still count: %v", err)
	}
}

func TestARPConflict(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 12, 3, 0, 0, time.UTC)
	now := t0
	det := analyze.NewDetector(analyze.DetectorConfig{})
	c, err := newStreamCheck(streamSpec(CheckARPConflict, "10.0.0.100"), det, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	det.Observe(t0, analyzetest.Gratuitous(beMAC, "10.0.0.100"))
	now = t0.Add(time.Second)
	if err := c.Probe(context.Background()); err != nil {
		t.Fatalf("one MAC for the address: %v", err)
	}
	// Two HA nodes both claiming the virtual IP: A, B, A.
	det.Observe(t0.Add(2*time.Second), analyzetest.Gratuitous(vipMAC, "10.0.0.100"))
	det.Observe(t0.Add(3*time.Second), analyzetest.Gratuitous(beMAC, "10.0.0.100"))
	now = t0.Add(4 * time.Second)
	err = c.Probe(context.Background())
	if err == nil || !strings.Contains(err.Error(), "02:00:00:00:00:05") || !strings.Contains(err.Error(), "02:00:00:00:00:06") {
		t.Fatalf("flip-flop between two MACs: got %v, want a failure naming both MACs", err)
	}
	now = t0.Add(time.Minute)
	if err := c.Probe(context.Background()); err != nil {
		t.Errorf("conflict older than the window still counts: %v", err)
	}
}

func TestStreamChecksNeedTheDetector(t *testing.T) {
	_, err := NewRunner([]Spec{{Name: "u", Check: CheckARPUnanswered, Target: "10.0.0.5"}}, RunnerOptions{})
	if err == nil || !strings.Contains(err.Error(), "live capture") {
		t.Errorf("NewRunner without a Detector = %v, want a refusal", err)
	}
	_, err = NewRunner([]Spec{{Name: "u", Check: CheckARPUnanswered, Target: "10.0.0.5"}}, RunnerOptions{Detector: analyze.NewDetector(analyze.DetectorConfig{})})
	if err != nil {
		t.Errorf("NewRunner with a Detector: %v", err)
	}
}

func TestStreamSpecValidate(t *testing.T) {
	tests := []struct {
		spec Spec
		want string
	}{
		{Spec{Name: "a", Check: CheckARPUnanswered, Target: "10.0.0.5:80"}, "target:"},
		{Spec{Name: "a", Check: CheckARPConflict, Target: "fe80::1%eth0"}, "target:"},
		{Spec{Name: "a", Check: CheckARPUnanswered, Target: "10.0.0.5", Threshold: -1}, "threshold:"},
		{Spec{Name: "a", Check: CheckARPUnanswered, Target: "10.0.0.5", Window: -time.Second}, "window:"},
		{Spec{Name: "a", Check: CheckTCP, Target: "h:80", Window: time.Second}, "window: only used by checks arp-unanswered and arp-conflict"},
		{Spec{Name: "a", Check: CheckARPConflict, Target: "2001:db8::5"}, ""},
	}
	for _, tt := range tests {
		err := tt.spec.WithDefaults().Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%+v: %v", tt.spec, err)
		case tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)):
			t.Errorf("%+v: Validate() = %v, want %q…", tt.spec, err, tt.want)
		}
	}
}

// TestARPConflictUnsolicited: a reply nobody asked for that claims the
// watched address (the gateway's) for another MAC fires arp-conflict, and
// the reason names it. A reply to a request does not.
func TestARPConflictUnsolicited(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 12, 3, 0, 0, time.UTC)
	now := t0
	det := analyze.NewDetector(analyze.DetectorConfig{})
	c, err := newStreamCheck(streamSpec(CheckARPConflict, "10.0.0.1"), det, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	evil := analyzetest.MAC("02:66:66:66:66:66")
	det.Observe(t0, analyzetest.Request(beMAC, "10.0.0.5", "10.0.0.1"))
	det.Observe(t0.Add(time.Millisecond), analyzetest.Reply(gwMAC, "10.0.0.1", beMAC, "10.0.0.5"))
	det.Observe(t0.Add(5*time.Second), analyzetest.Request(beMAC, "10.0.0.5", "10.0.0.1"))
	det.Observe(t0.Add(5*time.Second+time.Millisecond), analyzetest.Reply(gwMAC, "10.0.0.1", beMAC, "10.0.0.5"))
	now = t0.Add(6 * time.Second)
	if err := c.Probe(context.Background()); err != nil {
		t.Fatalf("solicited replies: %v", err)
	}
	det.Observe(t0.Add(8*time.Second), analyzetest.Reply(evil, "10.0.0.1", beMAC, "10.0.0.5"))
	now = t0.Add(9 * time.Second)
	err = c.Probe(context.Background())
	if err == nil {
		t.Fatal("unsolicited reply claiming the gateway: want a failure")
	}
	for _, want := range []string{"02:66:66:66:66:66 claimed it from 02:00:00:00:00:01 in an unsolicited reply at 12:03:08.000Z"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("reason %q lacks %q", err, want)
		}
	}
	now = t0.Add(60 * time.Second)
	if err := c.Probe(context.Background()); err != nil {
		t.Errorf("out of the window: %v", err)
	}
}
