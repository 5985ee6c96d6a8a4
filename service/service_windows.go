package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/eventlog"
	"golang.org/x/sys/windows/svc/mgr"
)

// RunWindows runs run as the Windows service Name under the service
// control manager, and returns when it stops. The service reports
// StartPending until run calls ready (capture is up), then Running; Stop
// and Shutdown cancel run's context and the service reports StopPending,
// with a wait hint, until run returns (a bundle in flight is finished
// first), still answering the manager's queries. An error from run is a
// service-specific exit code 1, a failure the recovery actions that
// Install sets answer with a restart.
func RunWindows(run func(ctx context.Context, ready func()) error) error {
	return svc.Run(Name, &handler{run: run})
}

type handler struct {
	run func(ctx context.Context, ready func()) error
}

// stopWaitHint is how long the manager is told a stop may take: the
// after-window of a bundle in flight plus writing it.
const stopWaitHint = 3 * time.Minute

func (h *handler) Execute(args []string, reqs <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	status <- svc.Status{State: svc.StartPending, WaitHint: uint32((2 * time.Minute).Milliseconds())}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	readyc := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		var once sync.Once
		done <- h.run(ctx, func() { once.Do(func() { close(readyc) }) })
	}()
	const accepts = svc.AcceptStop | svc.AcceptShutdown
	stopping := false
	for {
		select {
		case <-readyc:
			readyc = nil
			if !stopping {
				status <- svc.Status{State: svc.Running, Accepts: accepts}
			}
		case err := <-done:
			// A failure is reported as one (svcSpecificEC true, code 1), so
			// that the recovery actions Install sets restart the service.
			if err != nil {
				return true, 1
			}
			return false, 0
		case r := <-reqs:
			switch r.Cmd {
			case svc.Interrogate:
				// Keep answering while the bundle in flight is finished:
				// a blocked control handler stalls sc query and shutdown.
				status <- r.CurrentStatus
			case svc.Stop, svc.Shutdown:
				if !stopping {
					stopping = true
					status <- svc.Status{State: svc.StopPending, WaitHint: uint32(stopWaitHint.Milliseconds())}
					cancel()
				}
			}
		}
	}
}

// IsService reports whether this process was started by the service
// control manager.
func IsService() (bool, error) { return svc.IsWindowsService() }

// Install registers exe as the automatic-start service Name running
// "exe args...", with restart-on-failure recovery and an event log source.
// Installing again updates the command line; it never fails because the
// service exists.
func Install(exe string, args []string) error {
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("service: connecting to the service manager (run as Administrator): %w", err)
	}
	defer m.Disconnect()
	cfg := mgr.Config{
		DisplayName:  "arpbox ARP flight recorder",
		Description:  "Records ARP into a bounded ring of pcapng files and writes an incident bundle when a check fails.",
		StartType:    mgr.StartAutomatic,
		ErrorControl: mgr.ErrorNormal,
	}
	s, err := m.OpenService(Name)
	if err == nil {
		defer s.Close()
		// Installed already: point it at exe and args again. The basic
		// call, not mgr's UpdateConfig, whose extra levels Wine lacks.
		cmd, _ := windows.UTF16PtrFromString(quoteCommand(exe, args))
		disp, _ := windows.UTF16PtrFromString(cfg.DisplayName)
		if err := windows.ChangeServiceConfig(s.Handle, windows.SERVICE_NO_CHANGE, mgr.StartAutomatic, windows.SERVICE_NO_CHANGE,
			cmd, nil, nil, nil, nil, nil, disp); err != nil {
			return fmt.Errorf("service: updating %s: %w", Name, err)
		}
	} else {
		s, err = m.CreateService(Name, exe, cfg, args...)
		if err != nil {
			return fmt.Errorf("service: creating %s: %w", Name, err)
		}
		defer s.Close()
	}
	recovery := []mgr.RecoveryAction{
		{Type: mgr.ServiceRestart, Delay: 5 * time.Second},
		{Type: mgr.ServiceRestart, Delay: 30 * time.Second},
		{Type: mgr.ServiceRestart, Delay: time.Minute},
	}
	if err := s.SetRecoveryActions(recovery, uint32((24 * time.Hour).Seconds())); err != nil {
		return fmt.Errorf("service: setting %s's recovery actions: %w", Name, err)
	}
	// arpbox stopping with an error (capture lost for good) is a failure
	// too, not only a crash.
	// (Wine's service manager lacks this setting: ERROR_INVALID_LEVEL.)
	if err := s.SetRecoveryActionsOnNonCrashFailures(true); err != nil && !errors.Is(err, windows.ERROR_INVALID_LEVEL) {
		return fmt.Errorf("service: setting %s's recovery on failures: %w", Name, err)
	}
	if err := eventlog.InstallAsEventCreate(Name, eventlog.Error|eventlog.Warning|eventlog.Info); err != nil &&
		!strings.Contains(err.Error(), "exists") {
		return fmt.Errorf("service: registering the event log source %s: %w", Name, err)
	}
	return nil
}

// quoteCommand writes exe and args as a Windows command line.
func quoteCommand(exe string, args []string) string {
	parts := []string{windows.EscapeArg(exe)}
	for _, a := range args {
		parts = append(parts, windows.EscapeArg(a))
	}
	return strings.Join(parts, " ")
}

// Uninstall stops and removes the service and its event log source.
// Recorded data under %ProgramData%\arpbox is kept.
func Uninstall() error {
	return withService("is not installed", func(s *mgr.Service) error {
		_ = stop(s, 30*time.Second)
		if err := s.Delete(); err != nil {
			return fmt.Errorf("service: deleting %s: %w", Name, err)
		}
		_ = eventlog.Remove(Name)
		return nil
	})
}

// Start starts the installed service and waits until it runs (or fails).
func Start(timeout time.Duration) error {
	return withService("is not installed (arpbox service install)", func(s *mgr.Service) error {
		if err := s.Start(); err != nil {
			return fmt.Errorf("service: starting %s: %w", Name, err)
		}
		return waitState(s, svc.Running, timeout)
	})
}

// Stop stops the service and waits until it has stopped.
func Stop(timeout time.Duration) error {
	return withService("is not installed", func(s *mgr.Service) error { return stop(s, timeout) })
}

// withService connects to the service manager, opens the service and runs
// fn on it; missing says what a missing service means to the caller.
func withService(missing string, fn func(*mgr.Service) error) error {
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("service: connecting to the service manager (run as Administrator): %w", err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(Name)
	if err != nil {
		return fmt.Errorf("service: %s %s: %w", Name, missing, err)
	}
	defer s.Close()
	return fn(s)
}

func stop(s *mgr.Service, timeout time.Duration) error {
	st, err := s.Query()
	if err != nil {
		return fmt.Errorf("service: querying %s: %w", Name, err)
	}
	if st.State == svc.Stopped {
		return nil
	}
	if _, err := s.Control(svc.Stop); err != nil {
		return fmt.Errorf("service: stopping %s: %w", Name, err)
	}
	return waitState(s, svc.Stopped, timeout)
}

func waitState(s *mgr.Service, want svc.State, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		st, err := s.Query()
		if err != nil {
			return fmt.Errorf("service: querying %s: %w", Name, err)
		}
		if st.State == want {
			return nil
		}
		if want == svc.Running && st.State == svc.Stopped {
			return fmt.Errorf("service: %s stopped while starting (exit code %d; see the event log and %s)", Name, max(st.ServiceSpecificExitCode, st.Win32ExitCode), LogFile())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("service: %s still in state %d after %v", Name, st.State, timeout)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// LogFile is where the service writes its log, beside the event log.
func LogFile() string {
	base := os.Getenv("ProgramData")
	if base == "" {
		base = `C:\ProgramData`
	}
	return filepath.Join(base, "arpbox", "arpbox.log")
}

// EventLogHandler returns a slog handler that writes records at level and
// above to the Windows event log under the source Name (Warn and Error as
// such, the rest as Information), with the attributes as key=value text.
func EventLogHandler(level slog.Leveler) (slog.Handler, func() error, error) {
	l, err := eventlog.Open(Name)
	if err != nil {
		return nil, nil, fmt.Errorf("service: opening the event log source %s: %w", Name, err)
	}
	return &eventHandler{log: l, level: level}, l.Close, nil
}

type eventHandler struct {
	log   *eventlog.Log
	level slog.Leveler
	attrs []slog.Attr
	group string
}

func (h *eventHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

func (h *eventHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	add := func(a slog.Attr) {
		if h.group != "" {
			a.Key = h.group + "." + a.Key
		}
		fmt.Fprintf(&b, " %s=%q", a.Key, a.Value.String())
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(func(a slog.Attr) bool { add(a); return true })
	const eid = 1
	switch {
	case r.Level >= slog.LevelError:
		return h.log.Error(eid, b.String())
	case r.Level >= slog.LevelWarn:
		return h.log.Warning(eid, b.String())
	default:
		return h.log.Info(eid, b.String())
	}
}

func (h *eventHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &c
}

func (h *eventHandler) WithGroup(name string) slog.Handler {
	c := *h
	if c.group != "" {
		name = c.group + "." + name
	}
	c.group = name
	return &c
}

// dataDirSDDL protects arpbox's data directory: protected (nothing
// inherited from %ProgramData%, where every user may read and create),
// full access for LocalSystem and Administrators, inherited by everything
// below. Captures, bundles and the log are evidence; no other user should
// read them or plant files (or junctions) where a SYSTEM service writes.
const dataDirSDDL = "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"

// SecureDir creates dir if needed and gives it dataDirSDDL.
func SecureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("service: data directory %s: %w", dir, err)
	}
	sd, err := windows.SecurityDescriptorFromString(dataDirSDDL)
	if err != nil {
		return err
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return err
	}
	if err := windows.SetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil); err != nil {
		return fmt.Errorf("service: protecting data directory %s: %w", dir, err)
	}
	return nil
}
