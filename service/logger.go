package service

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
)

// logKeep is the size past which the service's log file is rotated, once,
// at start: the old one becomes LogFile()+".1".
const logKeep = 16 << 20

// Logger is the logger of arpbox run as a Windows service: records at
// level and above go to LogFile() and to the event log (Info and above).
// Where neither can be opened, it writes to fallback. close releases both.
func Logger(level slog.Leveler, fallback io.Writer) (log *slog.Logger, close func()) {
	var handlers []slog.Handler
	var closers []func() error
	if path := LogFile(); path != "" {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err == nil {
			if st, err := os.Stat(path); err == nil && st.Size() > logKeep {
				_ = os.Rename(path, path+".1")
			}
			if f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640); err == nil {
				handlers = append(handlers, slog.NewTextHandler(f, &slog.HandlerOptions{Level: level}))
				closers = append(closers, f.Close)
			}
		}
	}
	if h, closeLog, err := EventLogHandler(slog.LevelInfo); err == nil {
		handlers = append(handlers, h)
		closers = append(closers, closeLog)
	}
	if len(handlers) == 0 {
		handlers = append(handlers, slog.NewTextHandler(fallback, &slog.HandlerOptions{Level: level}))
	}
	return slog.New(slog.NewMultiHandler(handlers...)), func() {
		for _, c := range closers {
			_ = c()
		}
	}
}
