package trigger

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/arpbox/arpbox/bundle"
)

// CheckAlertmanager is the Event.Check (and Trigger) of bundles started by
// an Alertmanager notification.
const CheckAlertmanager = "alertmanager"

// ErrPayload wraps every reason an Alertmanager payload is refused: not
// JSON, not version 4, an alert without status. The HTTP layer answers 400.
var ErrPayload = errors.New("alertmanager payload")

// AlertmanagerMessage is the body of Alertmanager's webhook notification,
// version 4 (notify/webhook.Message with its embedded template.Data).
type AlertmanagerMessage struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   uint64            `json:"truncatedAlerts"`
	Receiver          string            `json:"receiver"`
	Status            string            `json:"status"` // firing | resolved
	Alerts            []Alert           `json:"alerts"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
}

// Alert is one alert of an AlertmanagerMessage.
type Alert struct {
	Status       string            `json:"status"` // firing | resolved
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// AlertmanagerConfig is the alertmanager section of the configuration.
type AlertmanagerConfig struct {
	// Match (alertmanager.match) selects the alerts that trigger: every
	// label named must be present with exactly that value, or, for a value
	// written "=~RE", match the regular expression RE in full (as in
	// PromQL). Empty matches every alert.
	Match map[string]string
}

// Validate checks c: every "=~" value must compile.
func (c AlertmanagerConfig) Validate() error {
	_, err := compileMatch(c.Match)
	return err
}

type labelMatcher struct {
	name  string
	value string
	re    *regexp.Regexp // nil: exact value
}

func compileMatch(m map[string]string) ([]labelMatcher, error) {
	var out []labelMatcher
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(m)) {
		v := m[name]
		if name == "" {
			errs = append(errs, errors.New("match: empty label name"))
			continue
		}
		lm := labelMatcher{name: name, value: v}
		if re, ok := strings.CutPrefix(v, "=~"); ok {
			c, err := regexp.Compile("^(?:" + re + ")$")
			if err != nil {
				errs = append(errs, fmt.Errorf("match.%s: %q: %w", name, v, err))
				continue
			}
			lm.re = c
		}
		out = append(out, lm)
	}
	return out, errors.Join(errs...)
}

func (m labelMatcher) matches(labels map[string]string) bool {
	v, ok := labels[m.name]
	if m.re != nil {
		return m.re.MatchString(v) // an absent label is "", as in Prometheus
	}
	return ok && v == m.value
}

// AlertmanagerOptions are an AlertmanagerSource's dependencies; all optional.
type AlertmanagerOptions struct {
	Logger *slog.Logger     // nil = discard
	Now    func() time.Time // nil = time.Now
	// Oldest returns the oldest time the ring still holds (zero: unknown,
	// then startsAt is taken as T whenever it is not in the future).
	Oldest func() time.Time
}

// Dedup bounds: an episode is remembered this long, and at most this many.
const (
	alertMemory    = 24 * time.Hour
	maxAlertMemory = 4096
)

// AlertmanagerSource turns Alertmanager webhook notifications into events.
//
// Each firing alert whose labels match the selector emits one Event per
// episode: an episode is the alert's fingerprint with its startsAt, so
// Alertmanager's repeated notifications of a still-firing alert (every
// repeat_interval, or when the group changes) do not emit again, and the
// same alert firing anew (a new startsAt) does. Resolved alerts, and a
// resolved notification, emit nothing. The Event's T is the alert's
// startsAt when the ring still holds it and it is not in the future, else
// now; its reason is the alertname and the summary annotation (description
// when there is no summary), sanitized. Episodes are remembered for 24 h,
// at most 4096 (the oldest forgotten first). Safe for concurrent use.
type AlertmanagerSource struct {
	match []labelMatcher
	opts  AlertmanagerOptions
	log   *slog.Logger

	mu   sync.Mutex
	seen map[string]time.Time // episode key -> when first seen
}

// NewAlertmanagerSource returns a source for cfg. It starts nothing: Receive
// is called by whoever serves the webhook.
func NewAlertmanagerSource(cfg AlertmanagerConfig, opts AlertmanagerOptions) (*AlertmanagerSource, error) {
	m, err := compileMatch(cfg.Match)
	if err != nil {
		return nil, fmt.Errorf("alertmanager: %w", err)
	}
	if opts.Logger == nil {
		opts.Logger = discard()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &AlertmanagerSource{match: m, opts: opts, log: opts.Logger, seen: map[string]time.Time{}}, nil
}

// Receipt says what became of a notification's alerts.
type Receipt struct {
	Alerts   int `json:"alerts"`   // in the payload
	Matched  int `json:"matched"`  // firing and matching the selector
	Fired    int `json:"fired"`    // new episodes: events emitted
	Repeated int `json:"repeated"` // episodes already seen
	Refused  int `json:"refused"`  // new episodes whose event emit refused (forgotten again)
}

// Receive parses one webhook body and calls emit, on the calling
// goroutine, for every new firing episode of a matching alert. An episode
// whose event emit refuses (returns an error: the snapshotter is cooling
// down, say) is forgotten again, so a later notification of it may fire.
// A body that is not a version 4 payload is an error wrapping ErrPayload,
// and emits nothing.
func (s *AlertmanagerSource) Receive(body []byte, emit func(bundle.Event) error) (Receipt, error) {
	msg, err := ParseAlertmanager(body)
	if err != nil {
		return Receipt{}, err
	}
	rc := Receipt{Alerts: len(msg.Alerts)}
	now := s.opts.Now()
	var oldest time.Time
	if s.opts.Oldest != nil {
		oldest = s.opts.Oldest()
	}
	for _, a := range msg.Alerts {
		if a.Status != "firing" || !s.matches(a.Labels) {
			continue
		}
		rc.Matched++
		key := episodeKey(a)
		if !s.remember(key, now) {
			rc.Repeated++
			s.log.Debug("alert already triggered a snapshot in this episode", "alertname", a.Labels["alertname"], "fingerprint", a.Fingerprint, "starts_at", a.StartsAt)
			continue
		}
		if err := emit(alertEvent(a, now, oldest)); err != nil {
			s.forget(key)
			rc.Refused++
			s.log.Warn("alert matched, no snapshot", "alertname", a.Labels["alertname"], "fingerprint", a.Fingerprint, "err", err)
			continue
		}
		rc.Fired++
	}
	return rc, nil
}

// ParseAlertmanager decodes and checks a version 4 webhook body.
func ParseAlertmanager(body []byte) (*AlertmanagerMessage, error) {
	var msg AlertmanagerMessage
	if err := json.Unmarshal(body, &msg); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPayload, err)
	}
	if msg.Version != "4" {
		return nil, fmt.Errorf("%w: version %q, want \"4\"", ErrPayload, msg.Version)
	}
	for i, a := range msg.Alerts {
		if a.Status != "firing" && a.Status != "resolved" {
			return nil, fmt.Errorf("%w: alerts[%d].status %q, want firing or resolved", ErrPayload, i, a.Status)
		}
	}
	return &msg, nil
}

func (s *AlertmanagerSource) matches(labels map[string]string) bool {
	for _, m := range s.match {
		if !m.matches(labels) {
			return false
		}
	}
	return true
}

// remember records key, seen at now; false if it was already known.
func (s *AlertmanagerSource) remember(key string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if at, ok := s.seen[key]; ok && now.Sub(at) < alertMemory {
		return false
	}
	if len(s.seen) >= maxAlertMemory {
		var oldestKey string
		var oldestAt time.Time
		for k, at := range s.seen {
			if now.Sub(at) >= alertMemory {
				delete(s.seen, k)
				continue
			}
			if oldestKey == "" || at.Before(oldestAt) {
				oldestKey, oldestAt = k, at
			}
		}
		if len(s.seen) >= maxAlertMemory {
			delete(s.seen, oldestKey)
		}
	}
	s.seen[key] = now
	return true
}

func (s *AlertmanagerSource) forget(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.seen, key)
}

// episodeKey identifies one firing episode: the fingerprint (or, if
// Alertmanager sent none, a digest of the labels) and startsAt.
func episodeKey(a Alert) string {
	fp := a.Fingerprint
	if fp == "" {
		h := sha256.New()
		for _, k := range slices.Sorted(maps.Keys(a.Labels)) {
			fmt.Fprintf(h, "%s\x00%s\x00", k, a.Labels[k])
		}
		fp = hex.EncodeToString(h.Sum(nil)[:8])
	}
	return fp + "@" + a.StartsAt.UTC().Format(time.RFC3339Nano)
}

func alertEvent(a Alert, now, oldest time.Time) bundle.Event {
	name := a.Labels["alertname"]
	if name == "" {
		name = "alert"
	}
	summary := a.Annotations["summary"]
	if summary == "" {
		summary = a.Annotations["description"]
	}
	reason := name
	if summary != "" {
		reason += ": " + summary
	}
	t := now
	if !a.StartsAt.IsZero() && !a.StartsAt.After(now) && (oldest.IsZero() || !a.StartsAt.Before(oldest)) {
		t = a.StartsAt
	}
	target := a.Fingerprint
	if inst := a.Labels["instance"]; inst != "" {
		target = inst
	}
	return bundle.Event{
		Trigger: CheckAlertmanager,
		Check:   CheckAlertmanager,
		Target:  SanitizeReason([]byte(target)),
		Reason:  SanitizeReason([]byte(reason)),
		Time:    t,
	}
}
