package analyze_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arpbox/arpbox/analyze"
	at "github.com/arpbox/arpbox/analyze/analyzetest"
	"github.com/arpbox/arpbox/internal/pcapng"
)

// invalidCaptures are captures with a malformed header or block, or a
// version nobody reads, made from the unanswered scenario by changing a
// few bytes. Each must end the report with an error naming the file, the
// offset and the reason.
func invalidCaptures(t *testing.T) map[string][]byte {
	t.Helper()
	ng, err := os.ReadFile(filepath.Join("testdata", "unanswered.pcapng"))
	if err != nil {
		t.Fatal(err)
	}
	shb := int(binary.LittleEndian.Uint32(ng[4:]))
	idb := int(binary.LittleEndian.Uint32(ng[shb+4:]))
	epb := shb + idb
	set := func(b []byte, off int, v uint32) []byte {
		b = bytes.Clone(b)
		binary.LittleEndian.PutUint32(b[off:], v)
		return b
	}
	var pc bytes.Buffer
	if err := at.WritePcap(&pc, 65535, scenarios()[0].sides["unanswered"]); err != nil {
		t.Fatal(err)
	}
	pcapVersion := func(major, minor uint16) []byte {
		b := bytes.Clone(pc.Bytes())
		binary.LittleEndian.PutUint16(b[4:], major)
		binary.LittleEndian.PutUint16(b[6:], minor)
		return b
	}
	ngVersion := bytes.Clone(ng)
	binary.LittleEndian.PutUint16(ngVersion[14:], 7)
	// A second section whose byte-order magic is wrong, after good packets.
	secondSection := append(bytes.Clone(ng), set(ng[:shb], 8, 0)...)
	return map[string][]byte{
		"byte-order-magic.pcapng":  set(ng, 8, 0x01020304),
		"second-section.pcapng":    secondSection,
		"block-length.pcapng":      set(ng, epb+4, 13),
		"trailing-length.pcapng":   set(ng, epb+int(binary.LittleEndian.Uint32(ng[epb+4:]))-4, 1000),
		"no-such-interface.pcapng": set(ng, epb+8, 5),
		"version-1.7.pcapng":       ngVersion,
		"version-2.5.pcap":         pcapVersion(2, 5),
		"version-3.0.pcap":         pcapVersion(3, 0),
		"not-a-capture.pcap":       []byte("GET / HTTP/1.1\r\nHost: example\r\n\r\n"),
	}
}

// TestInvalidCaptures: a malformed or unknown-version file is an error with
// the file, the offset and the reason, never a report saying "no failure".
// The errors are golden (testdata/invalid.golden).
func TestInvalidCaptures(t *testing.T) {
	dir := filepath.Join("testdata", "invalid")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files := invalidCaptures(t)
	var names []string
	for n := range files {
		names = append(names, n)
	}
	slices := func(s []string) []string {
		for i := 1; i < len(s); i++ {
			for j := i; j > 0 && s[j] < s[j-1]; j-- {
				s[j], s[j-1] = s[j-1], s[j]
			}
		}
		return s
	}
	var out strings.Builder
	for _, n := range slices(names) {
		p := filepath.ToSlash(filepath.Join(dir, n))
		writeOrCheck(t, p, files[n])
		rep, err := analyze.Analyze(context.Background(), []string{p}, analyze.Options{})
		if err == nil {
			t.Errorf("%s: no error; verdict %q", n, rep.Verdict.Summary)
			continue
		}
		if !errors.Is(err, pcapng.ErrInvalid) && !errors.Is(err, pcapng.ErrVersion) && !errors.Is(err, pcapng.ErrFormat) {
			t.Errorf("%s: %v is not ErrInvalid, ErrVersion or ErrFormat", n, err)
		}
		if !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %q does not name the file", n, err)
		}
		fmt.Fprintf(&out, "%s\n\t%v\n", n, err)
	}
	golden(t, filepath.Join("testdata", "invalid.golden"), []byte(out.String()))
}

// TestGzipCaptures: gzip-compressed pcap and pcapng files read as the
// plain ones do (the report is the same but for the file names).
func TestGzipCaptures(t *testing.T) {
	fs := scenarios()[0].sides["unanswered"]
	var pc, ng bytes.Buffer
	if err := at.WritePcap(&pc, 65535, fs); err != nil {
		t.Fatal(err)
	}
	if err := at.WritePcapNG(&ng, fs); err != nil {
		t.Fatal(err)
	}
	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.ModTime = t0 // reproducible bytes
		zw.Write(b)
		zw.Close()
		return buf.Bytes()
	}
	var texts []string
	for _, c := range []struct {
		name string
		b    []byte
	}{{"gzip.pcap.gz", gz(pc.Bytes())}, {"gzip.pcapng.gz", gz(ng.Bytes())}, {"gzip.pcap", pc.Bytes()}} {
		p := filepath.ToSlash(filepath.Join("testdata", c.name))
		writeOrCheck(t, p, c.b)
		if strings.HasSuffix(c.name, ".gz") {
			checkWithTshark(t, p, len(fs))
		}
		rep, err := analyze.Analyze(context.Background(), []string{p}, analyze.Options{})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var txt, js bytes.Buffer
		rep.WriteText(&txt)
		rep.WriteJSON(&js)
		norm := strings.NewReplacer(p, "FILE", c.name, "FILE", `"format": "pcapng"`, `"format": "pcap"`).Replace(js.String())
		texts = append(texts, norm)
		if c.name == "gzip.pcapng.gz" {
			golden(t, filepath.Join("testdata", "gzip.txt"), txt.Bytes())
		}
	}
	for i := 1; i < len(texts); i++ {
		if texts[i] != texts[0] {
			t.Errorf("report %d differs from the first:\n%s\n---\n%s", i, texts[i], texts[0])
		}
	}
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}
