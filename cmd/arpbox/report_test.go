package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	at "github.com/arpbox/arpbox/analyze/analyzetest"
	"github.com/google/go-cmp/cmp"
)

var (
	reportT0  = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	reportGW  = at.MAC("02:00:00:00:00:01")
	reportSrv = at.MAC("02:00:00:00:00:05")
)

// reportFrames: 10.0.0.5 answers three times, then ignores six requests.
func reportFrames() []at.Frame {
	var fs []at.Frame
	for i := range 9 {
		ts := reportT0.Add(time.Duration(i) * time.Second)
		fs = append(fs, at.Frame{Time: ts, Data: at.Request(reportGW, "10.0.0.1", "10.0.0.5")})
		if i < 3 {
			fs = append(fs, at.Frame{Time: ts.Add(time.Millisecond), Data: at.Reply(reportSrv, "10.0.0.5", reportGW, "10.0.0.1")})
		}
	}
	return append(fs, at.Frame{Time: reportT0.Add(12 * time.Second), Data: at.Request(reportSrv, "10.0.0.5", "10.0.0.9")})
}

func reportWrite(t *testing.T, path string, fs []at.Frame) {
	t.Helper()
	var b bytes.Buffer
	if err := at.WritePcapNG(&b, fs); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func runReport(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = cmdReport(args, &o, &e)
	return code, o.String(), e.String()
}

func TestReportUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string // in stderr
	}{
		{"no paths", nil, 2, "at least one PATH"},
		{"bad flag", []string{"-nope", "x"}, 2, "flag provided but not defined"},
		{"help", []string{"-h"}, 0, "Each PATH is one capture point"},
		{"bad timeout", []string{"-reply-timeout", "0s", "x"}, 2, "must be positive"},
		{"missing file", []string{filepath.Join(t.TempDir(), "none.pcapng")}, 1, "no such file"},
		{"not a capture", []string{"report_test.go"}, 1, "not a pcap or pcapng file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if runtime.GOOS == "windows" && tc.want == "no such file" {
				t.Skip(`skipping on Windows: it words "no such file" its own way`)
			}
			code, _, stderr := runReport(tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, tc.code, tc.want)
			}
		})
	}
}

// TestReportInputs reads the same capture as a file, a bundle directory, a
// bundle zip and a ring directory, and checks the verdict is the same.
func TestReportInputs(t *testing.T) {
	dir := t.TempDir()
	fs := reportFrames()

	file := filepath.Join(dir, "gw.pcapng")
	reportWrite(t, file, fs)

	bundle := filepath.Join(dir, "20261126T120010Z-web1")
	os.Mkdir(bundle, 0o755)
	reportWrite(t, filepath.Join(bundle, "capture.pcapng"), fs)
	manifest := `{"host":"haproxy2","trigger":{"name":"web1","check":"tcp","target":"10.0.0.5:80","reason":"3 consecutive failures","time":"2026-11-26T12:00:10Z"}}`
	journal := `[{"time":"2026-11-26T12:00:04Z","kind":"neighbor","iface":"eth1","ip":"10.0.0.5","state":"STALE"},
	            {"time":"2026-11-26T12:00:07Z","kind":"neighbor","iface":"eth1","ip":"10.0.0.5","state":"FAILED"},
	            {"time":"2026-11-26T12:00:08Z","kind":"link","iface":"eth1","detail":"up"}]`
	os.WriteFile(filepath.Join(bundle, "manifest.json"), []byte(manifest), 0o644)
	os.WriteFile(filepath.Join(bundle, "journal.json"), []byte(journal), 0o644)

	zipPath := bundle + ".zip"
	zf, _ := os.Create(zipPath)
	zw := zip.NewWriter(zf)
	for _, n := range []string{"capture.pcapng", "manifest.json", "journal.json"} {
		w, _ := zw.Create(filepath.Base(bundle) + "/" + n)
		b, _ := os.ReadFile(filepath.Join(bundle, n))
		w.Write(b)
	}
	zw.Close()
	zf.Close()

	// Ring: two segments, the current one cut mid-block.
	ring := filepath.Join(dir, "ring")
	os.Mkdir(ring, 0o755)
	reportWrite(t, filepath.Join(ring, "arp-00000001-20261126T120000.000Z-20261126T120005.000Z.pcapng"), fs[:7])
	var cur bytes.Buffer
	at.WritePcapNG(&cur, fs[7:])
	os.WriteFile(filepath.Join(ring, "arp-00000002-20261126T120005.000Z.pcapng.part"), cur.Bytes()[:cur.Len()-10], 0o644)
	os.WriteFile(filepath.Join(ring, "notes.txt"), []byte("ignored"), 0o644)

	type summary struct {
		Schema, Side, Kind, IP string
		Count                  uint64
		Trigger                string
		Neighbor               int
		Truncated              bool
	}
	for _, tc := range []struct {
		name string
		path string
		want summary
	}{
		{"file", file, summary{analyzeSchema, "gw", "unanswered", "10.0.0.5", 6, "", 0, false}},
		{"bundle", bundle, summary{analyzeSchema, "haproxy2", "unanswered", "10.0.0.5", 6, "web1 (tcp 10.0.0.5:80): 3 consecutive failures", 2, false}},
		{"zip", zipPath, summary{analyzeSchema, "haproxy2", "unanswered", "10.0.0.5", 6, "web1 (tcp 10.0.0.5:80): 3 consecutive failures", 2, false}},
		{"ring", ring, summary{analyzeSchema, "ring", "unanswered", "10.0.0.5", 4, "", 0, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := runReport("-json", tc.path)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var rep struct {
				Schema  string
				Trigger *struct{ Label string }
				Verdict struct {
					Findings []struct {
						Side, Kind, IP string
						Count          uint64
					}
				}
				Sides []struct {
					Files []struct{ Truncated bool }
				}
				Neighbor []json.RawMessage `json:"neighbor_events"`
			}
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatal(err)
			}
			got := summary{Schema: rep.Schema, Neighbor: len(rep.Neighbor)}
			if len(rep.Verdict.Findings) > 0 {
				f := rep.Verdict.Findings[0]
				got.Side, got.Kind, got.IP, got.Count = f.Side, f.Kind, f.IP, f.Count
			}
			if rep.Trigger != nil {
				got.Trigger = rep.Trigger.Label
			}
			for _, s := range rep.Sides {
				for _, f := range s.Files {
					got.Truncated = got.Truncated || f.Truncated
				}
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}

	t.Run("text and html", func(t *testing.T) {
		page := filepath.Join(dir, "r.html")
		code, out, stderr := runReport("-html", page, bundle)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if !strings.Contains(out, "10.0.0.5 stopped answering ARP at 12:00:03.000") || stderr != "" {
			t.Errorf("text report:\n%s\nstderr: %s", out, stderr)
		}
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"<svg", "trigger 12:00:10", "FAILED", "haproxy2"} {
			if !bytes.Contains(b, []byte(want)) {
				t.Errorf("html lacks %q", want)
			}
		}
	})
}

const analyzeSchema = "arpbox.report/v1"

var _ = io.Discard
