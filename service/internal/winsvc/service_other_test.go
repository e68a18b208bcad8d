//go:build !windows

package winsvc

import (
	"context"
	"errors"
	"log/slog"
	"testing"
)

func TestStubsReportUnsupported(t *testing.T) {
	if _, err := OpenEventLog("HelloSvc"); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("OpenEventLog: %v", err)
	}
	err := Run("HelloSvc", func(context.Context, func()) error {
		t.Error("body must not run without a service control manager")
		return nil
	}, slog.New(slog.DiscardHandler))
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("Run: %v", err)
	}
}
