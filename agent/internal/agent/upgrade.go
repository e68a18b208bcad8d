package agent

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf16"

	"example.com/winrelease/agent/internal/host"
	"example.com/winrelease/agent/internal/rollout"
	"example.com/winrelease/agent/internal/trust"
)

// DowngradeProperty is the property the agent passes when it installs an older version
// than the installed one; without it the MSI refuses a downgrade (people, Group Policy).
const DowngradeProperty = "WINRELEASE_ALLOW_DOWNGRADE"

func cacheDir(stateDir string, p Product) string {
	return filepath.Join(stateDir, safeName(p.Product), "cache")
}

// upgrade installs rel, gates on health, and rolls back to the installed version on failure.
func (a *Agent) upgrade(ctx context.Context, status Status, p Product, st State, rel trust.Release, want rollout.Want) Status {
	downgrade := st.Installed.Version != "" && trust.Older(want.Version, st.Installed.Version)
	code, logPath, err := a.install(ctx, p, rel, downgrade)
	if err != nil {
		return fail(status, StateError, err)
	}
	if code != 0 && code != 3010 {
		reason := fmt.Sprintf("msiexec exit code %d installing %s (log %s)", code, want.Version, logPath)
		if a.healthOnce(p) != "" || st.Installed.Version == "" {
			// The old version is not back (or there was none): reinstall it ourselves.
			return a.rollback(ctx, status, p, st, want, reason, logPath)
		}
		// Windows Installer undid the upgrade in its own transaction: the old version is back.
		st.Failed, st.FailedReason = want, reason
		status.LogTail = logTail(logPath)
		status.State, status.Health, status.Error = StateRolledBack, "ok", reason+"; Windows Installer rolled back to "+st.Installed.Version
		return a.save(status, p, st)
	}
	if reason := a.waitHealthy(p); reason != "" {
		return a.rollback(ctx, status, p, st, want, reason, logPath)
	}
	st.Installed = want
	if st.Failed == want {
		st.Failed, st.FailedReason = rollout.Want{}, ""
	}
	status.Version, status.State, status.Health = want.Version, StateHealthy, "ok"
	return a.save(status, p, st)
}

// rollback reinstalls the previously installed version after want failed its health gate.
func (a *Agent) rollback(ctx context.Context, status Status, p Product, st State, want rollout.Want, reason, logPath string) Status {
	st.Failed, st.FailedReason = want, reason
	status.LogTail = logTail(logPath)
	status.Health = reason
	if st.Installed.Version == "" {
		state := StateUnhealthy
		if strings.HasPrefix(reason, "msiexec exit code") {
			state = StateInstallFailed // Windows Installer rolled its own install back
		} else {
			st.Installed = want // it is installed, and there is nothing to go back to
		}
		status.Version, status.State, status.Error = st.Installed.Version, state, reason+"; no previous version to roll back to"
		return a.save(status, p, st)
	}
	previous, err := a.fetch(p, st.Installed)
	if err != nil {
		status.Version, status.State = want.Version, StateUnhealthy
		status.Error = fmt.Sprintf("%s; rollback to %s impossible: %v", reason, st.Installed.Version, err)
		return a.save(status, p, st)
	}
	code, backLog, err := a.install(ctx, p, previous, true)
	if err != nil || (code != 0 && code != 3010) {
		status.Version, status.State, status.LogTail = want.Version, StateUnhealthy, logTail(backLog)
		status.Error = fmt.Sprintf("%s; rollback to %s failed: msiexec exit code %d %v", reason, st.Installed.Version, code, err)
		return a.save(status, p, st)
	}
	status.Version, status.State = st.Installed.Version, StateRolledBack
	status.Error = fmt.Sprintf("%s: %s; the agent reinstalled %s", want.Version, reason, st.Installed.Version)
	status.Health = orOK(a.waitHealthy(p))
	return a.save(status, p, st)
}

func orOK(reason string) string {
	if reason == "" {
		return "ok"
	}
	return reason
}

func (a *Agent) save(status Status, p Product, st State) Status {
	status.FailedVersion, status.FailedReason = st.Failed.Version, st.FailedReason
	if err := saveState(a.Config.StateDir, p, st); err != nil {
		status.State, status.Error = StateError, fmt.Sprintf("%s; saving state: %v", status.Error, err)
	}
	return status
}

// install runs msiexec for rel with the site's transform and the configured properties.
func (a *Agent) install(ctx context.Context, p Product, rel trust.Release, downgrade bool) (int, string, error) {
	logs := filepath.Join(a.Config.StateDir, safeName(p.Product), "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return -1, "", err
	}
	stamp := a.Clock.Now().UTC().Format("20060102T150405Z")
	logPath := filepath.Join(logs, fmt.Sprintf("%s_%s.log", rel.Manifest.Version, stamp))
	props := map[string]string{}
	for k, v := range p.Properties {
		props[k] = v
	}
	if downgrade {
		props[DowngradeProperty] = "1"
		// Older files must replace the newer ones (file versioning would keep the newer exe);
		// components marked NeverOverwrite (the kept config) are still left alone.
		props["REINSTALLMODE"] = "amus"
	}
	ctx, cancel := context.WithTimeout(ctx, p.installTimeout())
	defer cancel()
	code, err := a.Host.Install(ctx, host.InstallRequest{MSI: rel.MSI, Transform: rel.Transform, Log: logPath, Properties: props})
	return code, logPath, err
}

// waitHealthy waits until the service runs and the health URL answers, or the deadline;
// it returns "" or why the gate failed.
func (a *Agent) waitHealthy(p Product) string {
	deadline := a.Clock.Now().Add(p.healthTimeout())
	for {
		reason := a.healthOnce(p)
		if reason == "" {
			return ""
		}
		if !a.Clock.Now().Before(deadline) {
			return fmt.Sprintf("not healthy within %s: %s", p.healthTimeout(), reason)
		}
		a.Clock.Sleep(time.Second)
	}
}

// healthOnce checks the service state and the health URL once.
func (a *Agent) healthOnce(p Product) string {
	running, err := a.Host.ServiceRunning(p.ServiceName)
	if err != nil {
		return fmt.Sprintf("service %s: %v", p.ServiceName, err)
	}
	if !running {
		return fmt.Sprintf("service %s is not running", p.ServiceName)
	}
	if p.HealthURL == "" {
		return ""
	}
	resp, err := a.HTTP.Get(p.HealthURL)
	if err != nil {
		return fmt.Sprintf("health URL %s: %v", p.HealthURL, err)
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Sprintf("health URL %s answered %s", p.HealthURL, resp.Status)
	}
	return ""
}

// logTail is the last lines of an msiexec log (ANSI, or UTF-16LE with a BOM).
func logTail(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if bytes.HasPrefix(data, []byte{0xff, 0xfe}) {
		u := make([]uint16, (len(data)-2)/2)
		for i := range u {
			u[i] = uint16(data[2+2*i]) | uint16(data[3+2*i])<<8
		}
		data = []byte(string(utf16.Decode(u)))
	}
	lines := strings.Split(strings.TrimRight(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n"), "\n")
	if len(lines) > 25 {
		lines = lines[len(lines)-25:]
	}
	return strings.Join(lines, "\n")
}
