package analyze

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/arpbox/arpbox/bundle"
)

// WriteReports analyses inputs (each one side, as for Analyze) and writes
// report.txt, report.json and report.html into dir. Each file is written
// under a temporary name and renamed into place, so a reader never sees a
// half-written report. A bundle's snapshot step calls it with the bundle's
// capture.pcapng, setting opts.Trigger and opts.Neighbor from the trigger
// event and the neighbor journal.
func WriteReports(ctx context.Context, dir string, inputs []string, opts Options) error {
	rep, err := Analyze(ctx, inputs, opts)
	if err != nil {
		return fmt.Errorf("report for %s: %w", dir, err)
	}
	// Inputs inside dir (a bundle's capture.pcapng) are named relative to
	// it: the report travels with the bundle, the staging path does not.
	for i := range rep.Sides {
		rep.Sides[i].Path = relTo(dir, rep.Sides[i].Path)
	}
	for _, f := range []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{bundle.FileReportText, func(b *bytes.Buffer) error { return rep.WriteText(b) }},
		{bundle.FileReportJSON, func(b *bytes.Buffer) error { return rep.WriteJSON(b) }},
		{bundle.FileReportHTML, func(b *bytes.Buffer) error { return rep.WriteHTML(b) }},
	} {
		var buf bytes.Buffer
		if err := f.write(&buf); err != nil {
			return fmt.Errorf("render %s: %w", f.name, err)
		}
		if err := writeFileAtomic(filepath.Join(dir, f.name), buf.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// relTo returns path relative to dir when path lies inside dir.
func relTo(dir, path string) string {
	rel, err := filepath.Rel(dir, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return path
	}
	return rel
}

func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
