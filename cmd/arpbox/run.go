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
	"strings"
	"syscall"

	"github.com/arpbox/arpbox/capture"
	"github.com/arpbox/arpbox/configs"
	"github.com/arpbox/arpbox/internal/buildinfo"
	"github.com/arpbox/arpbox/recorder"
	"github.com/arpbox/arpbox/service"
)

func cmdRun(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "configuration `file` (default: the embedded default)")
	replay := fs.String("replay", "", "record frames from a pcap or pcapng `file` into the ring instead of capturing live, then exit")
	asService := fs.Bool("service", false, "run under the Windows service manager (arpbox service install sets this)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := configs.Load(*configPath)
	if err != nil {
		return fail(stderr, 2, err)
	}
	if *asService {
		return runWindowsService(cfg, stderr)
	}
	if *replay == "" {
		if err := capture.LiveAvailable(); err != nil {
			// A Windows host without Npcap: one sentence that says what
			// to install, before anything starts. (A service logs the
			// same error to the event log when its capture fails.)
			return fail(stderr, 2, err)
		}
	}
	log := newLogger(cfg.Log, stderr)
	for _, w := range cfg.DiskWarnings() {
		log.Warn("the configuration does not fit the disk", "warning", w)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first signal, a second one kills the process the default
	// way, should a clean shutdown hang (say, on a dead disk).
	context.AfterFunc(ctx, stop)

	svc, err := service.FromEnv(log)
	if err != nil {
		return fail(stderr, 2, err)
	}
	rec := recorder.New(cfg, log, recorder.Options{Version: buildinfo.Version(version), Replay: *replay, Ready: func() {
		svc.Ready(fmt.Sprintf("recording %s on %s into %s (at most %s); %d triggers",
			cfg.Capture.Filter.Text, strings.Join(cfg.Capture.Interfaces, ", "), cfg.Ring.Dir, configs.FormatSize(cfg.Ring.MaxBytes), len(cfg.Triggers)))
	}})
	// The watchdog pings systemd while the recorder is alive (Type=notify
	// with WatchdogSec=); it ends with the recorder.
	err = svc.Supervise(ctx, rec.Run, rec.Alive)
	if errors.Is(err, capture.ErrNoNpcap) {
		// A host without Npcap: one sentence that says what to install.
		log.Error("arpbox could not start", "err", err)
		return fail(stderr, 2, err)
	}
	return logOutcome(log, err)
}

// logOutcome logs how the recorder ended and returns the exit code.
func logOutcome(log *slog.Logger, err error) int {
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
