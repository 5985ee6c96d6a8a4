//go:build !linux

package service

import "log/slog"

// FromEnv returns nil: systemd's notify protocol is Linux's.
func FromEnv(log *slog.Logger) (*Notifier, error) { return nil, nil }
