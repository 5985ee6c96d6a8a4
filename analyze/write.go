package analyze

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/arpbox/arpbox/bundle"
)

// WriteReports analyses inputs (each one side, as for Analyze) and writes
// report.txt, report.json and report.html into dir. Each file is written
// under a temporary name and renamed into place, so a reader never sees a
// half-written report. A bundle's snapshot step calls it with the bundle's
// capture.pcapng.gz, setting opts.Trigger and opts.Neighbor from the trigger
// event and the neighbor journal.
func WriteReports(ctx context.Context, dir string, inputs []string, opts Options) error {
	rep, err := Analyze(ctx, inputs, opts)
	if err != nil {
		return fmt.Errorf("report for %s: %w", dir, err)
	}
	return WriteReportFiles(dir, rep)
}

// WriteReportFiles writes rep as report.txt, report.json and report.html
// into dir, each under a temporary name renamed into place. Inputs inside
// dir (a bundle's capture) are named relative to it in the files: the report
// travels with the bundle, the staging path does not.
func WriteReportFiles(dir string, rep *Report) error {
	for i := range rep.Sides {
		rep.Sides[i].Path = relTo(dir, rep.Sides[i].Path)
	}
	for _, f := range []struct {
		name  string
		write func(io.Writer) error
	}{
		{bundle.FileReportText, rep.WriteText},
		{bundle.FileReportJSON, rep.WriteJSON},
		{bundle.FileReportHTML, rep.WriteHTML},
	} {
		if err := writeFileAtomic(filepath.Join(dir, f.name), f.write); err != nil {
			return err
		}
	}
	return nil
}

// WriteHTMLFile writes the HTML report to path ("arpbox report -html").
// The page is rendered whole before path is written, so a failed render
// leaves path as it was; a render error says "html: ", a write error is
// os.WriteFile's (it names path).
func (r *Report) WriteHTMLFile(path string) error {
	var buf bytes.Buffer
	if err := r.WriteHTML(&buf); err != nil {
		return fmt.Errorf("html: %w", err)
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// relTo returns path relative to dir when path lies inside dir.
func relTo(dir, path string) string {
	rel, err := filepath.Rel(dir, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return path
	}
	return rel
}

// writeFileAtomic renders into a temporary file through a buffer (a report
// is streamed to disk, not held in memory) and renames it to path.
func writeFileAtomic(path string, render func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	bw := bufio.NewWriterSize(tmp, 64<<10)
	if err := render(bw); err != nil {
		tmp.Close()
		return fmt.Errorf("render %s: %w", filepath.Base(path), err)
	}
	if err := bw.Flush(); err != nil {
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
