package trigger

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
)

// Check is one health probe. Probe returns nil when the target is healthy,
// or an error whose text becomes the event's reason. ctx carries the timeout.
// Probe opens whatever it needs on the calling goroutine and closes it before
// returning, so a probe run inside a network namespace stays there.
type Check interface {
	Probe(ctx context.Context) error
}

// Watcher is implemented by checks that can notice a change between probes
// (the neighbor check, from netlink). Watch runs until ctx is cancelled and
// calls kick whenever a probe should run now; the Runner then probes at once
// instead of waiting for the next interval. Watch returns nil on cancellation.
type Watcher interface {
	Watch(ctx context.Context, kick func()) error
}

// NewCheck builds the check for spec (which should have passed Validate).
// It starts nothing.
func NewCheck(spec Spec, log *slog.Logger) (Check, error) {
	if log == nil {
		log = discard()
	}
	var (
		c   Check
		err error
	)
	switch spec.Check {
	case CheckTCP:
		c = &tcpCheck{addr: spec.Target}
	case CheckExec:
		c, err = newExecCheck(spec.Command)
	case CheckHTTP:
		c, err = newHTTPCheck(spec.Target, spec.Expect)
	case CheckICMP:
		c = &icmpCheck{host: spec.Target, log: log}
	case CheckARP:
		c, err = newARPCheck(spec.Target, spec.Interface)
	case CheckNeighbor:
		c, err = newNeighborCheck(spec.Target, spec.Interface)
	case CheckHAProxy:
		c, err = newHAProxyCheck(spec.Socket, spec.Target)
	case CheckARPUnanswered, CheckARPConflict:
		err = fmt.Errorf("check %s reads the recorded frames: the Runner builds it from RunnerOptions.Detector", spec.Check)
	default:
		err = fmt.Errorf("unknown check %q", spec.Check)
	}
	if err != nil {
		return nil, fmt.Errorf("trigger %s: %w", spec.Name, err)
	}
	return c, nil
}

// DisplayTarget is the Event.Target of spec: its target, or for exec the
// command line (quoted where needed; it is never run through a shell).
func (s Spec) DisplayTarget() string {
	if s.Check != CheckExec {
		return s.Target
	}
	q := make([]string, len(s.Command))
	for i, a := range s.Command {
		if a == "" || strings.ContainsAny(a, " \t\n\"'\\$`") {
			a = strconv.Quote(a)
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
