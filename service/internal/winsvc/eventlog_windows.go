//go:build windows

package winsvc

import (
	"fmt"
	"log/slog"

	"golang.org/x/sys/windows/svc/eventlog"
)

// Event IDs written to the Event Log. They lie in 1..1000 so that the source
// can be registered with %SystemRoot%\System32\EventCreate.exe as its message
// file, which renders the message text as-is.
const (
	EventIDInfo    uint32 = 1
	EventIDWarning uint32 = 2
	EventIDError   uint32 = 3
)

// EventLog writes log records to the Windows Application log. It implements
// logging.Sink.
type EventLog struct {
	l *eventlog.Log
}

// OpenEventLog opens the Event Log with the given source name (the service
// name). The installer is expected to register the source; if it has not,
// Windows still records the events, only with a "description not found" note.
func OpenEventLog(source string) (*EventLog, error) {
	l, err := eventlog.Open(source)
	if err != nil {
		return nil, fmt.Errorf("cannot open the Event Log for source %q: %w", source, err)
	}
	return &EventLog{l: l}, nil
}

// Write records msg as an Error, Warning or Information event by level.
func (e *EventLog) Write(level slog.Level, msg string) error {
	switch {
	case level >= slog.LevelError:
		return e.l.Error(EventIDError, msg)
	case level >= slog.LevelWarn:
		return e.l.Warning(EventIDWarning, msg)
	default:
		return e.l.Info(EventIDInfo, msg)
	}
}

// Close releases the Event Log handle.
func (e *EventLog) Close() error {
	return e.l.Close()
}
