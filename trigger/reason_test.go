package trigger

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/arpbox/arpbox/bundle"
)

func TestSanitizeReason(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "backend web1 unreachable", "backend web1 unreachable"},
		{"trim and newlines", "  gateway\r\n lost\tarp \n", "gateway lost arp"},
		{"control chars", "a\x00\x01\x1b[31mred\x7f", "a?[31mred?"},
		{"invalid utf8", "ok \xff\xfe\xfd end", "ok ? end"},
		{"bidi override", "safe\u202etxt.exe", "safe?txt.exe"},
		{"unicode kept", "Gerät außer Betrieb ✓", "Gerät außer Betrieb ✓"},
		{"literal question marks kept", "why?? now", "why?? now"},
		{"binary", "\x00\x01\x02\x03\xff", "?"},
		{"empty", "", ""},
		{"only space", " \n\t ", ""},
		{"long", strings.Repeat("x", 300), strings.Repeat("x", 197) + "..."},
		{"long ending in space at cut", strings.Repeat("x", 196) + " " + strings.Repeat("y", 10), strings.Repeat("x", 196) + "..."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, SanitizeReason([]byte(tc.in))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzSanitizeReason(f *testing.F) {
	for _, s := range []string{"reason", "a\x00b", "\xff\xfe", "x\u202ey", strings.Repeat("é", 250), " \n "} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got := SanitizeReason(in)
		if !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8: %q", got)
		}
		if n := utf8.RuneCountInString(got); n > MaxReasonLen {
			t.Fatalf("%d runes > %d: %q", n, MaxReasonLen, got)
		}
		for _, r := range got {
			if !unicode.IsPrint(r) {
				t.Fatalf("unprintable %U in %q", r, got)
			}
		}
		if got != strings.TrimSpace(got) || strings.Contains(got, "  ") {
			t.Fatalf("untrimmed or doubled space: %q", got)
		}
		if again := SanitizeReason([]byte(got)); again != got {
			t.Fatalf("not idempotent: %q -> %q", got, again)
		}
	})
}

func TestManual(t *testing.T) {
	now := time.Date(2026, 11, 26, 1, 2, 3, 0, time.UTC)
	tests := []struct {
		reason, source string
		want           bundle.Event
	}{
		{"gateway lost\n", "api", bundle.Event{Trigger: "api", Check: "api", Reason: "gateway lost", Time: now}},
		{"", "manual", bundle.Event{Trigger: "manual", Check: "manual", Reason: "manual trigger", Time: now}},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, manualAt(tc.reason, tc.source, now)); diff != "" {
			t.Errorf("Manual(%q, %q) (-want +got):\n%s", tc.reason, tc.source, diff)
		}
	}
	if ev := Manual("x", "api"); time.Since(ev.Time) > time.Minute {
		t.Errorf("Manual time %v is not now", ev.Time)
	}
}

// TestCheckReasonFromServer: a checked server's words reach the event's
// reason (README.txt, manifest, report, pcapng comment): an HTTP status
// line with escape sequences is made safe before it gets there.
func TestCheckReasonFromServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 4096)
			c.Read(buf)
			c.Write([]byte("HTTP/1.1 503 \x1b]0;pwned\x07\x1b[2JDown\u202e\r\nContent-Length: 0\r\n\r\n"))
			c.Close()
		}
	}()
	hc, err := newHTTPCheck("http://"+ln.Addr().String()+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	perr := hc.Probe(context.Background())
	if perr == nil || !strings.Contains(perr.Error(), "\x1b") {
		t.Fatalf("probe error %q: want the server's raw status line (the test's premise)", perr)
	}
	h := newHarness(t, Spec{Name: "web1", Check: CheckHTTP, Target: "http://x/", FailAfter: 1, Interval: 100 * time.Millisecond, Timeout: 10 * time.Millisecond}, false)
	h.step(&perr, time.Second)
	evs := h.Events()
	if len(evs) != 1 {
		t.Fatalf("events %+v", evs)
	}
	for _, s := range []string{evs[0].Reason, h.r.Status()[0].LastError} {
		if strings.ContainsAny(s, "\x1b\x07\r\n\u202e") || !strings.Contains(s, "503") {
			t.Errorf("not sanitised: %q", s)
		}
	}
}
