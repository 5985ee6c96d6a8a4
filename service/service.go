// Package service connects arpbox to the service manager that runs it: systemd's notify protocol (readiness, status, watchdog) on Linux, the service control manager and the event log on Windows.
package service

import (
	"context"
	"log/slog"
	"time"
)

// Notifier speaks to the service manager. A nil *Notifier (arpbox not
// run by one) accepts every call and does nothing.
type Notifier struct {
	log      *slog.Logger
	send     func(msg string) error
	watchdog time.Duration // the manager's watchdog timeout; 0: none asked for
}

// Ready says arpbox is up, with a status line (systemctl status shows it).
func (n *Notifier) Ready(status string) {
	n.notify("READY=1\nSTATUS=" + status)
}

// Status updates the status line.
func (n *Notifier) Status(status string) {
	n.notify("STATUS=" + status)
}

// Stopping says arpbox is shutting down cleanly.
func (n *Notifier) Stopping() {
	n.notify("STOPPING=1")
}

func (n *Notifier) notify(msg string) {
	if n == nil {
		return
	}
	if err := n.send(msg); err != nil {
		n.log.Warn("telling the service manager failed", "msg", msg, "err", err)
	}
}

// Watchdog pings the manager's watchdog at half its timeout for as long as
// alive says the recorder works, and returns when ctx is done. When alive
// fails it logs why and stops pinging, so the manager restarts arpbox
// (systemd: WatchdogSec= with Restart=on-failure); should alive recover
// before the timeout runs out, pinging resumes. Without a watchdog it just
// waits for ctx.
func (n *Notifier) Watchdog(ctx context.Context, alive func() error) error {
	if n == nil || n.watchdog <= 0 {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(n.watchdog / 2)
	defer t.Stop()
	failing := false
	for {
		if err := alive(); err != nil {
			if !failing {
				n.log.Error("recorder not alive: no longer pinging the service watchdog", "err", err, "watchdog", n.watchdog)
				n.notify("STATUS=not alive: " + err.Error())
			}
			failing = true
		} else {
			if failing {
				n.log.Info("recorder alive again: pinging the service watchdog")
			}
			failing = false
			n.notify("WATCHDOG=1")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Supervise runs run, the service's work, under the manager: the watchdog
// is pinged (Watchdog) while alive says it works, Stopping is said once
// run returns, and run's error is returned after the watchdog has
// stopped. Readiness is run's to say (Ready), once it is up. A nil
// *Notifier just runs run.
func (n *Notifier) Supervise(ctx context.Context, run func(ctx context.Context) error, alive func() error) error {
	wctx, stopWatchdog := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		_ = n.Watchdog(wctx, alive)
	}()
	err := run(ctx)
	n.Stopping()
	stopWatchdog()
	<-watched
	return err
}
