package trigger

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/arpbox/arpbox/bundle"
)

func amPayload(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "alertmanager", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAlertmanagerEpisodes feeds a sequence of notifications, in
// Alertmanager's webhook format (version 4), to one source and checks the
// events each one emits.
func TestAlertmanagerEpisodes(t *testing.T) {
	now := time.Date(2026, 11, 30, 8, 1, 0, 0, time.UTC)
	haproxy := map[string]string{"job": "haproxy", "instance": "gw1:8404"}
	type step struct {
		payload string
		want    []bundle.Event
		receipt Receipt
	}
	fired := bundle.Event{Trigger: "alertmanager", Check: "alertmanager", Target: "gw1:8404",
		Reason: "HAProxyBackendDown: HAProxy backend web has no server up",
		Time:   time.Date(2026, 11, 30, 8, 0, 5, 123e6, time.UTC)}
	again := fired
	again.Time = now // startsAt 08:20 is in the future of now: T is now
	tests := []struct {
		name  string
		match map[string]string
		steps []step
	}{
		{
			name:  "a matching alert fires once per episode, and again in a new one",
			match: haproxy,
			steps: []step{
				{"firing.json", []bundle.Event{fired}, Receipt{Alerts: 2, Matched: 1, Fired: 1}},
				{"firing.json", nil, Receipt{Alerts: 2, Matched: 1, Repeated: 1}},
				{"resolved.json", nil, Receipt{Alerts: 2}},
				{"firing-again.json", []bundle.Event{again}, Receipt{Alerts: 1, Matched: 1, Fired: 1}},
			},
		},
		{
			name:  "an alert of another job does not match",
			match: map[string]string{"job": "haproxy", "instance": "gw2:8404"},
			steps: []step{{"firing.json", nil, Receipt{Alerts: 2}}},
		},
		{
			name:  "a regular expression matches the whole value",
			match: map[string]string{"instance": "=~gw1:.*", "severity": "=~crit"},
			steps: []step{{"firing.json", nil, Receipt{Alerts: 2}}},
		},
		{
			name:  "a regular expression selects both alerts",
			match: map[string]string{"instance": "=~gw1:[0-9]+"},
			steps: []step{{"firing.json", []bundle.Event{fired, {
				Trigger: "alertmanager", Check: "alertmanager", Target: "gw1:9100",
				Reason: "NodeHighLoad: load is high", Time: time.Date(2026, 11, 30, 7, 59, 0, 0, time.UTC),
			}}, Receipt{Alerts: 2, Matched: 2, Fired: 2}}},
		},
		{
			name:  "resolved alerts never fire",
			match: haproxy,
			steps: []step{{"resolved.json", nil, Receipt{Alerts: 2}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewAlertmanagerSource(AlertmanagerConfig{Match: tc.match}, AlertmanagerOptions{Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			for i, st := range tc.steps {
				var got []bundle.Event
				rc, err := s.Receive(amPayload(t, st.payload), func(ev bundle.Event) error { got = append(got, ev); return nil })
				if err != nil {
					t.Fatalf("step %d (%s): %v", i, st.payload, err)
				}
				if d := cmp.Diff(st.want, got); d != "" {
					t.Errorf("step %d (%s) events (-want +got):\n%s", i, st.payload, d)
				}
				if d := cmp.Diff(st.receipt, rc); d != "" {
					t.Errorf("step %d (%s) receipt (-want +got):\n%s", i, st.payload, d)
				}
			}
		})
	}
}

// TestAlertmanagerStartsAtOutsideRing: T is now when the ring no longer
// holds startsAt.
func TestAlertmanagerStartsAtOutsideRing(t *testing.T) {
	now := time.Date(2026, 11, 30, 8, 1, 0, 0, time.UTC)
	s, err := NewAlertmanagerSource(AlertmanagerConfig{Match: map[string]string{"job": "haproxy"}}, AlertmanagerOptions{
		Now:    func() time.Time { return now },
		Oldest: func() time.Time { return now.Add(-30 * time.Second) },
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []bundle.Event
	if _, err := s.Receive(amPayload(t, "firing.json"), func(ev bundle.Event) error { got = append(got, ev); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !got[0].Time.Equal(now) {
		t.Fatalf("events %+v: want one at now %v", got, now)
	}
}

// TestAlertmanagerRefusedEpisode: an episode whose snapshot was refused
// is not remembered; the next notification of it fires.
func TestAlertmanagerRefusedEpisode(t *testing.T) {
	s, _ := NewAlertmanagerSource(AlertmanagerConfig{Match: map[string]string{"job": "haproxy"}}, AlertmanagerOptions{})
	rc, err := s.Receive(amPayload(t, "firing.json"), func(bundle.Event) error { return errors.New("cooling down") })
	if err != nil || rc != (Receipt{Alerts: 2, Matched: 1, Refused: 1}) {
		t.Fatalf("refused: %+v %v", rc, err)
	}
	rc, err = s.Receive(amPayload(t, "firing.json"), func(bundle.Event) error { return nil })
	if err != nil || rc != (Receipt{Alerts: 2, Matched: 1, Fired: 1}) {
		t.Fatalf("after a refusal: %+v %v", rc, err)
	}
}

func TestAlertmanagerRefusesMalformed(t *testing.T) {
	for _, body := range []string{
		``, `{`, `[]`, `{"version":"3","alerts":[]}`, `{"version":4}`,
		`{"version":"4","alerts":[{"status":"pending"}]}`,
		`{"version":"4","alerts":[{"status":"firing","startsAt":"yesterday"}]}`,
		`{"version":"4","alerts":{"status":"firing"}}`,
	} {
		s, _ := NewAlertmanagerSource(AlertmanagerConfig{}, AlertmanagerOptions{})
		_, err := s.Receive([]byte(body), func(bundle.Event) error { t.Errorf("%q emitted an event", body); return nil })
		if !errors.Is(err, ErrPayload) {
			t.Errorf("%q: err %v, want ErrPayload", body, err)
		}
	}
}

func TestAlertmanagerConfigValidate(t *testing.T) {
	if err := (AlertmanagerConfig{Match: map[string]string{"job": "=~(haproxy"}}).Validate(); err == nil {
		t.Error("a bad regular expression passed Validate")
	}
	if err := (AlertmanagerConfig{Match: map[string]string{"job": "haproxy", "instance": "=~gw[0-9]+"}}).Validate(); err != nil {
		t.Error(err)
	}
}

// TestAlertmanagerMemoryBounded: the episode memory never exceeds its bound.
func TestAlertmanagerMemoryBounded(t *testing.T) {
	now := time.Date(2026, 11, 30, 8, 1, 0, 0, time.UTC)
	s, _ := NewAlertmanagerSource(AlertmanagerConfig{}, AlertmanagerOptions{Now: func() time.Time { return now }})
	for i := range maxAlertMemory + 100 {
		if !s.remember(time.Duration(i).String(), now.Add(time.Duration(i))) {
			t.Fatalf("key %d reported as seen", i)
		}
	}
	if n := len(s.seen); n != maxAlertMemory {
		t.Fatalf("remembers %d episodes, bound %d", n, maxAlertMemory)
	}
	if s.remember("0s", now) == false {
		t.Error("the oldest episode was not the one forgotten")
	}
}

func FuzzAlertmanager(f *testing.F) {
	for _, n := range []string{"firing.json", "resolved.json", "firing-again.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", "alertmanager", n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, _ := NewAlertmanagerSource(AlertmanagerConfig{Match: map[string]string{"job": "=~h.*"}}, AlertmanagerOptions{})
		rc, err := s.Receive(b, func(ev bundle.Event) error {
			if ev.Reason == "" || len([]rune(ev.Reason)) > MaxReasonLen {
				t.Errorf("reason %q", ev.Reason)
			}
			return nil
		})
		if err == nil && (rc.Fired > rc.Matched || rc.Matched > rc.Alerts) {
			t.Errorf("receipt %+v", rc)
		}
	})
}
