package main

import (
	"cmp"
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"time"

	"github.com/arpbox/arpbox/analyze"
	"github.com/arpbox/arpbox/internal/progress"
	"github.com/arpbox/arpbox/upload"
)

// reportUsage is the help "arpbox report -h" prints before the flags.
//
//go:embed report-usage.txt
var reportUsage string

// cmdReport implements "arpbox report".
func cmdReport(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, reportUsage)
		fs.PrintDefaults()
	}
	asJSON := fs.Bool("json", false, "print the JSON report (schema arpbox.report/v1) instead of text")
	htmlFile := fs.String("html", "", "also write a self-contained HTML report to `FILE`")
	timeout := fs.Duration("reply-timeout", time.Second, "a request without a reply after this long counts as unanswered")
	storm := fs.Int("storm-rate", 50, "requests per second from one sender that count as a storm")
	trigAt := fs.String("trigger-time", "", "mark this time (RFC 3339) as the trigger on the timeline")
	trigLabel := fs.String("trigger-label", "trigger", "label for -trigger-time")
	quiet := fs.Bool("q", false, "no progress bar")
	config := fs.String("config", "", "configuration `file` whose upload: section reaches the store of s3:// PATHs")
	incident := fs.String("incident", "", "with directories of bundles from several hosts: the incident `ID` to report on")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "arpbox report: at least one PATH is needed")
		fs.Usage()
		return 2
	}
	if *timeout <= 0 || *storm <= 0 {
		fmt.Fprintln(stderr, "arpbox report: -reply-timeout and -storm-rate must be positive")
		return 2
	}
	opts := analyze.Options{ReplyTimeout: *timeout, StormRate: *storm}
	if *trigAt != "" {
		t, err := time.Parse(time.RFC3339Nano, *trigAt)
		if err != nil {
			fmt.Fprintf(stderr, "arpbox report: -trigger-time: %v\n", err)
			return 2
		}
		opts.Trigger = &analyze.Mark{Time: t.UTC(), Label: *trigLabel}
	}
	var bar *progress.Bar
	if !*quiet {
		if bar = progress.OnTerminal(stderr); bar != nil {
			opts.Progress = bar.Update
		}
	}
	// One input's analysis holds state per address and sender, bounded by
	// MaxTargets, and makes no garbage per packet; what it allocates is that
	// state and the report. At the default GOGC a few MB of it start a GC
	// cycle that costs more than the rest of a short run. A heap goal of 5×
	// the live heap keeps a report of any length in one or no cycle, with
	// peak memory still bounded by the state, not by the capture. Two or
	// more inputs also keep up to 500k requests per side for matching,
	// where 5× would cost hundreds of MB: they keep the default. This
	// process exits after the report, so nothing else inherits the setting.
	if fs.NArg() == 1 {
		debug.SetGCPercent(400)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	// Every host's bundle of an s3:// incident is one more capture point.
	open := func() (*upload.Store, error) {
		if store, _ := openStore(*config, stderr); store != nil {
			return store, nil
		}
		return nil, errors.New("s3:// paths need -config FILE with an upload: section")
	}
	fetched, err := upload.FetchURLs(ctx, fs.Args(), open, func(url, incident string, zips []string) {
		fmt.Fprintf(stderr, "arpbox report: %s: %d bundle(s) of incident %s\n", url, len(zips), incident)
	})
	if err != nil {
		fmt.Fprintf(stderr, "arpbox report: %v\n", err)
		return 1
	}
	defer fetched.Remove()
	id := cmp.Or(*incident, fetched.Incident())
	rep, err := analyze.AnalyzeIncident(ctx, fetched.Paths, id, opts) // Analyze, unless the paths hold one incident's bundles from several hosts
	if errors.Is(err, analyze.ErrNoIncidentBundle) && id != *incident {
		rep, err = analyze.AnalyzeIncident(ctx, fetched.Paths, *incident, opts) // filed under its own id: a bundle from before peers
	}
	bar.Clear()
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(stderr, "arpbox report: interrupted")
			return 1
		}
		fmt.Fprintf(stderr, "arpbox report: %s\n", analyze.EscapeText(err.Error()))
		return 1
	}
	if *htmlFile != "" {
		if err := rep.WriteHTMLFile(*htmlFile); err != nil {
			fmt.Fprintf(stderr, "arpbox report: %v\n", err)
			return 1
		}
	}
	write := rep.WriteText
	if *asJSON {
		write = rep.WriteJSON
	}
	if err := write(stdout); err != nil {
		fmt.Fprintf(stderr, "arpbox report: %v\n", err)
		return 1
	}
	return 0
}
