//go:build !windows

package winsvc

import "log/slog"

// EventLog is unavailable outside Windows; OpenEventLog always fails.
type EventLog struct{}

// OpenEventLog returns ErrUnsupported: there is no Event Log here.
func OpenEventLog(source string) (*EventLog, error) {
	return nil, ErrUnsupported
}

// Write returns ErrUnsupported.
func (e *EventLog) Write(level slog.Level, msg string) error { return ErrUnsupported }

// Close does nothing.
func (e *EventLog) Close() error { return nil }
