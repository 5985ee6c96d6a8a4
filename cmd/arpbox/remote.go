package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/arpbox/arpbox/analyze"
	"github.com/arpbox/arpbox/configs"
	"github.com/arpbox/arpbox/upload"
)

// cmdBundles implements "arpbox bundles": the bundles on this host (as
// "arpbox snapshots"), or with -remote those in the object store.
func cmdBundles(args []string, stdout, stderr io.Writer) int {
	if !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(strings.TrimLeft(a, "-"), "remote") }) {
		return cmdSnapshots(args, stdout, stderr)
	}
	fs := flag.NewFlagSet("bundles", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Bool("remote", true, "list the bundles in the object store of the configuration's upload: section")
	config := fs.String("config", "", "configuration `file` with the upload: section")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	store, code := openStore(*config, stderr)
	if store == nil {
		return code
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	list, err := store.List(ctx)
	if err != nil {
		return fail(stderr, 1, err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(list)
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "INCIDENT\tHOST\tTIME\tTRIGGER\tSIZE\t%s\n", store)
	for _, r := range list {
		when := r.Time.Local().Format(time.DateTime)
		if r.Time.IsZero() {
			when = "?"
		}
		esc := analyze.EscapeText // manifests written by other hosts
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", esc(r.Incident), esc(r.Host), when, esc(r.Trigger), configs.FormatSize(r.Size), esc(r.Err))
	}
	tw.Flush()
	return 0
}

// openStore opens the object store of config's upload: section; nil and
// the exit code when it cannot.
func openStore(config string, stderr io.Writer) (*upload.Store, int) {
	cfg, err := configs.Load(config)
	if err != nil {
		return nil, fail(stderr, 2, err)
	}
	if cfg.Upload == nil {
		fmt.Fprintf(stderr, "arpbox: %s has no upload: section (the object store's endpoint and credentials); give -config FILE\n", cfg.Source)
		return nil, 2
	}
	store, err := upload.Open(*cfg.Upload)
	if err != nil {
		return nil, fail(stderr, 1, err)
	}
	return store, 0
}
