package trigger

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxReasonLen is the most characters (runes) SanitizeReason returns.
const MaxReasonLen = 200

// SanitizeReason turns untrusted bytes (a trigger file, a CLI argument,
// command output) into a safe one-line reason: valid UTF-8, printable runes
// only. Each run of whitespace (newlines, tabs) becomes one space; each run
// of invalid UTF-8, control or format characters (bidi overrides included)
// becomes one '?'. The result is trimmed and cut to MaxReasonLen runes,
// ending in "..." when cut.
func SanitizeReason(b []byte) string {
	return sanitize(b, MaxReasonLen)
}

// MaxCheckReasonLen is the most characters SanitizeCheckReason returns.
const MaxCheckReasonLen = 1000

// SanitizeCheckReason makes a health check's failure (which can quote what
// the checked server said, e.g. an HTTP status line) safe for a bundle's
// README.txt, manifest, report and pcapng comments, as SanitizeReason
// does, cut at MaxCheckReasonLen characters.
func SanitizeCheckReason(s string) string {
	return sanitize([]byte(s), MaxCheckReasonLen)
}

func sanitize(b []byte, maxLen int) string {
	const (
		other = iota
		space
		junk
	)
	var sb strings.Builder
	prev := other
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		b = b[n:]
		cls := other
		switch {
		case r == utf8.RuneError && n <= 1:
			cls = junk
		case unicode.IsSpace(r):
			cls = space
		case !unicode.IsPrint(r):
			cls = junk
		}
		switch {
		case cls == other:
			sb.WriteRune(r)
		case cls == prev:
			// collapse the run
		case cls == space:
			sb.WriteByte(' ')
		default:
			sb.WriteByte('?')
		}
		prev = cls
	}
	s := strings.TrimSpace(sb.String())
	if utf8.RuneCountInString(s) <= maxLen {
		return s
	}
	rs := []rune(s)[:maxLen-3]
	return strings.TrimRight(string(rs), " ") + "..."
}
