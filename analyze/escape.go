package analyze

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// A bundle or capture may come from someone else's machine: its host name,
// trigger, reasons, journal and file names are untrusted. They are cleaned
// when read (cleanText) and the text report is filtered again as it is
// written (escapeControls), so that no escape sequence reaches a terminal;
// the HTML report escapes every string it writes (esc), and JSON escapes
// control characters itself.

// EscapeText returns s with control characters, bidi controls and invalid
// UTF-8 written as escapes (\x1b, \u202e, \n): for printing text from a
// capture or bundle (a file name in an error) on a terminal.
func EscapeText(s string) string { return cleanText(s) }

// cleanText returns s with every character that could fool a terminal or a
// reader written as an escape: C0 and C1 control characters (newline and
// tab included), DEL, Unicode bidi and other format controls, and invalid
// UTF-8, as \x1b, \u202e or \n.
func cleanText(s string) string {
	if plainASCII(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

// unsafeRune reports C1 controls and the format characters that reorder or
// hide text (bidi embeddings, overrides and isolates, zero-width marks).
func unsafeRune(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f:
		return true
	case r >= 0x200b && r <= 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2060 && r <= 0x2069, r == 0xfeff:
		return true
	}
	return false
}

// escapeControls escapes control characters in rendered text, keeping its
// own line breaks and tabs: the text report's last line of defence.
func escapeControls(b []byte) []byte {
	// Most reports need nothing escaped, though they are not ASCII (…, –,
	// ↔): find the first character that does, and copy only if there is one.
	i := 0
	for i < len(b) {
		if c := b[i]; c < 0x80 {
			if c < 0x20 && c != '\n' && c != '\t' || c == 0x7f {
				break
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 || unsafeRune(r) {
			break
		}
		i += n
	}
	if i == len(b) {
		return b
	}
	out := append(make([]byte, 0, len(b)+len(b)/8), b[:i]...)
	for i < len(b) {
		r, n := utf8.DecodeRune(b[i:])
		switch {
		case r == '\n' || r == '\t':
			out = append(out, byte(r))
		case r == utf8.RuneError && n <= 1:
			out = fmt.Appendf(out, `\x%02x`, b[i])
		case r < 0x20 || r == 0x7f:
			out = fmt.Appendf(out, `\x%02x`, r)
		case unsafeRune(r):
			out = fmt.Appendf(out, `\u%04x`, r)
		default:
			out = append(out, b[i:i+n]...)
		}
		i += n
	}
	return out
}
