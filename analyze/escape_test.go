package analyze

import "testing"

// TestEscapeControls checks the text report's last filter: line breaks,
// tabs and printable text (ASCII or not) pass; control characters, bidi
// controls and invalid UTF-8 become escapes, wherever they are.
func TestEscapeControls(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"plain\ttext\n", "plain\ttext\n"},
		{"frames 1, 2 … 9 – ok ↔ \ufffd\n", "frames 1, 2 … 9 – ok ↔ \ufffd\n"},
		{"\x1b[31mred", `\x1b[31mred`},
		{"… then \x1b", `… then \x1b`},
		{"del \x7f, cr \r", `del \x7f, cr \x0d`},
		{"bidi \u202e gnp.exe", `bidi \u202e gnp.exe`},
		{"c1 \u009b, zw \u200b, bom \ufeff", `c1 \u009b, zw \u200b, bom \ufeff`},
		{"bad \xff\xfe utf-8 – \xe2\x80", `bad \xff\xfe utf-8 – \xe2\x80`},
	} {
		in := []byte(tc.in)
		got := escapeControls(in)
		if string(got) != tc.want {
			t.Errorf("escapeControls(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if string(in) != tc.in {
			t.Errorf("escapeControls(%q) changed its input", tc.in)
		}
	}
}
