package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/arpbox/arpbox/configs"
	"github.com/arpbox/arpbox/internal/buildinfo"
	"github.com/arpbox/arpbox/recorder"
	"github.com/arpbox/arpbox/service"
)

// cmdService implements "arpbox service install|uninstall|start|stop".
func cmdService(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("service", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "install: the configuration `file` the service runs with (default: the embedded default)")
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: arpbox service install [-config FILE] | uninstall | start | stop")
		return 2
	}
	verb := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	var err error
	switch verb {
	case "install":
		// Under the service manager, arpbox runs "run -service" with the
		// (checked) configuration at its absolute path.
		err = service.InstallSelf([]string{"run", "-service"}, *configPath, func(path string) (string, error) {
			cfg, err := configs.Load(path)
			if err != nil {
				return "", err
			}
			return cfg.DataDir, nil
		})
	case "uninstall":
		err = service.Uninstall()
	case "start":
		err = service.Start(2 * time.Minute)
	case "stop":
		err = service.Stop(5 * time.Minute)
	default:
		fmt.Fprintf(stderr, "arpbox service: unknown action %q (install, uninstall, start, stop)\n", verb)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "arpbox service %s: %v\n", verb, err)
		return 1
	}
	fmt.Fprintf(stdout, "arpbox service %s: done\n", verb)
	return 0
}

// runWindowsService runs the recorder under the Windows service manager,
// logging to the event log and to service.LogFile().
func runWindowsService(cfg *configs.Config, stderr io.Writer) int {
	log, closeLog := service.Logger(cfg.Log.Level, stderr)
	defer closeLog()
	for _, w := range cfg.DiskWarnings() {
		log.Warn("the configuration does not fit the disk", "warning", w)
	}
	err := service.RunWindows(func(ctx context.Context, ready func()) error {
		err := recorder.New(cfg, log, recorder.Options{Version: buildinfo.Version(version), Ready: ready}).Run(ctx)
		logOutcome(log, err)
		return err
	})
	if err != nil {
		log.Error("arpbox service", "err", err)
		return fail(stderr, 1, err)
	}
	return 0
}
