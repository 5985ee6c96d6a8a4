package analyze_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/arpbox/arpbox/analyze"
	"github.com/google/go-cmp/cmp"
)

// A Stream fed a capture's packets gives the report Analyze gives for the
// file, byte for byte, in every format.
func TestStreamMatchesAnalyze(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "*.pcapng"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no test captures: %v", err)
	}
	mark := &analyze.Mark{Time: time.Date(2026, 11, 26, 12, 0, 1, 0, time.UTC), Label: "test: trigger"}
	neigh := []analyze.NeighborEvent{
		{Time: time.Date(2026, 11, 26, 12, 0, 2, 0, time.UTC), IP: "10.0.0.9", State: "FAILED"},
		{Time: time.Date(2026, 11, 26, 12, 0, 1, 0, time.UTC), IP: "10.0.0.9", State: "INCOMPLETE"},
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			want, err := analyze.Analyze(context.Background(), []string{p}, analyze.Options{Trigger: mark, Neighbor: neigh})
			if err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			pr, err := analyze.NewPacketReader(f)
			if err != nil {
				t.Fatal(err)
			}
			s := analyze.NewStream(p, analyze.Options{})
			var rec analyze.Record
			for {
				err := pr.Next(&rec)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				s.Packet(rec.Time, rec.Link, rec.Data)
			}
			got := s.Report(mark, neigh)
			for _, r := range []struct {
				name   string
				render func(*analyze.Report, io.Writer) error
			}{
				{"json", (*analyze.Report).WriteJSON},
				{"text", (*analyze.Report).WriteText},
				{"html", (*analyze.Report).WriteHTML},
			} {
				var a, b bytes.Buffer
				if err := r.render(want, &a); err != nil {
					t.Fatal(err)
				}
				if err := r.render(got, &b); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(a.String(), b.String()); diff != "" {
					t.Errorf("%s report (-Analyze +Stream):\n%s", r.name, diff)
				}
			}
		})
	}
}
