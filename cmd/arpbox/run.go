package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/arpbox/arpbox/configs"
	"github.com/arpbox/arpbox/recorder"
)

func cmdRun(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "configuration `file` (default: the embedded default)")
	replay := fs.String("replay", "", "record frames from a pcap or pcapng `file` into the ring instead of capturing live, then exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := configs.Load(*configPath)
	if err != nil {
		fmt.Fprintf(stderr, "arpbox: %v\n", err)
		return 2
	}
	log := newLogger(cfg.Log, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first signal, a second one kills the process the default
	// way, should a clean shutdown hang (say, on a dead disk).
	context.AfterFunc(ctx, stop)

	err = recorder.New(cfg, log, recorder.Options{Version: appVersion(), Replay: *replay}).Run(ctx)
	var start *recorder.StartError
	switch {
	case errors.As(err, &start):
		log.Error("arpbox could not start", "err", err)
		return 1
	case err != nil:
		log.Error("arpbox stopped", "err", err)
		return 1
	}
	return 0
}

func newLogger(c configs.Log, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.Level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
