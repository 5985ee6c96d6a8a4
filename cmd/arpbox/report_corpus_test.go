package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestReportCorpus: arpbox report on the analyze package's corpus: a
// malformed capture is exit status 1 with the file, offset and reason; a
// gzip-compressed pcap is read; frames not decoded are named in the
// verdict.
func TestReportCorpus(t *testing.T) {
	td := filepath.Join("..", "..", "analyze", "testdata")
	for _, tc := range []struct {
		file   string
		code   int
		stdout string
		stderr string
	}{
		{"invalid/byte-order-magic.pcapng", 1, "", "byte-order-magic.pcapng: pcapng: section header at offset 0: byte-order magic 04 03 02 01"},
		{"invalid/no-such-interface.pcapng", 1, "", "enhanced packet block at offset 60: interface 5 not declared"},
		{"invalid/version-2.5.pcap", 1, "", "version 2.5 (this reader knows 2.0 to 2.4)"},
		{"gzip.pcap.gz", 0, "10.0.0.5 stopped answering ARP", ""},
		{"encap.pcapng", 0, "could not be decoded", ""},
		{"hostile", 0, `evil\x1b]0;pwned`, ""},
	} {
		code, out, stderr := runReport("-q", filepath.Join(td, tc.file))
		if code != tc.code || !strings.Contains(out, tc.stdout) || !strings.Contains(stderr, tc.stderr) {
			t.Errorf("%s: exit %d, want %d\nstdout %.300s\nstderr %s", tc.file, code, tc.code, out, stderr)
		}
		if strings.Contains(out+stderr, "\x1b") {
			t.Errorf("%s: raw escape in the output", tc.file)
		}
	}
}
