package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"text/tabwriter"
	"time"

	"github.com/arpbox/arpbox/analyze"
	"github.com/arpbox/arpbox/configs"
	"github.com/arpbox/arpbox/control"
	"github.com/arpbox/arpbox/snapshot"
)

func cmdCheckConfig(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "configuration `file` to check (default: the embedded default)")
	printDefault := fs.Bool("print-default", false, "print the embedded default configuration and exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *printDefault {
		stdout.Write(configs.Default())
		return 0
	}
	cfg, err := configs.Load(*configPath)
	if err != nil {
		return fail(stderr, 2, err)
	}
	if err := cfg.Describe(stdout); err != nil {
		return fail(stderr, 1, err)
	}
	for _, w := range cfg.DiskWarnings() {
		fmt.Fprintf(stderr, "arpbox: warning: %s\n", w)
	}
	return 0
}

// socketFlags adds the flags every client command shares.
func socketFlags(fs *flag.FlagSet) (socket, config *string) {
	socket = fs.String("socket", "", "control socket `path` (default: from -config, else "+configs.DefaultSocket()+")")
	config = fs.String("config", "", "read the control socket path from this configuration `file`")
	return socket, config
}

func socketPath(socket, config string) (string, error) {
	if socket != "" {
		return socket, nil
	}
	cfg, err := configs.Load(config)
	if err != nil {
		return "", err
	}
	return cfg.Control.Socket, nil
}

func cmdSnapshot(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("snapshot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	reason := fs.String("reason", "", "why: written into the bundle and the capture's comments")
	timeout := fs.Duration("timeout", 30*time.Minute, "how long to wait for the bundle")
	socket, config := socketFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	path, err := socketPath(*socket, *config)
	if err != nil {
		return fail(stderr, 2, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	ctx = control.OnConnect(ctx, func() {
		fmt.Fprintln(stderr, "arpbox: snapshot requested; waiting for the post-trigger window to be recorded…")
	})
	rep, err := control.NewClient(path).Snapshot(ctx, *reason)
	if err != nil {
		return fail(stderr, 1, err)
	}
	fmt.Fprintln(stdout, rep.Dir)
	if rep.Zip != "" {
		fmt.Fprintln(stdout, rep.Zip)
	}
	return 0
}

func cmdSnapshots(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("snapshots", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "read bundles from this `directory` instead of asking the running arpbox")
	asJSON := fs.Bool("json", false, "print JSON")
	socket, config := socketFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var list []snapshot.Info
	if *dir == "" {
		path, err := socketPath(*socket, *config)
		if err != nil {
			return fail(stderr, 2, err)
		}
		if err := control.NewClient(path).Snapshots(context.Background(), &list); err != nil {
			// No daemon: read the directory the configuration names.
			cfg, cerr := configs.Load(*config)
			if cerr != nil {
				return fail(stderr, 1, err)
			}
			*dir = cfg.Snapshots.Dir
		}
	}
	if *dir != "" {
		var err error
		if list, err = snapshot.List(*dir); err != nil {
			return fail(stderr, 1, err)
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(list)
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTIME\tTRIGGER\tSIZE\tPATH")
	for _, s := range list {
		esc := analyze.EscapeText // a bundle's text may come from elsewhere
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", esc(s.ID), s.Time.Local().Format(time.DateTime), esc(s.Trigger), configs.FormatSize(s.Size), esc(s.Path))
	}
	tw.Flush()
	return 0
}

func cmdStatus(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	socket, config := socketFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	path, err := socketPath(*socket, *config)
	if err != nil {
		return fail(stderr, 2, err)
	}
	var st json.RawMessage
	if err := control.NewClient(path).Status(context.Background(), &st); err != nil {
		return fail(stderr, 1, err)
	}
	stdout.Write(st)
	fmt.Fprintln(stdout)
	return 0
}
