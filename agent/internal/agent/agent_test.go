package agent

import (
	"strings"
	"testing"

	"example.com/winrelease/agent/internal/minisign"
	"example.com/winrelease/agent/internal/testsign"
	"example.com/winrelease/agent/internal/trust"
)

const future = "2030-01-01T00:00:00Z"

func TestUpgradesToTheChannelVersionAndReportsHealthy(t *testing.T) {
	s := newStore(t)
	s.release("1.0.0")
	s.release("2.0.0")
	s.point("1.0.0", nil, future)
	h := &fakeHost{}
	a := newAgent(t, s, h, "h1")
	if st := a.pollOne(t); st.State != StateHealthy || st.Version != "1.0.0" {
		t.Fatalf("first poll: %+v", st)
	}
	s.point("2.0.0", nil, future)
	st := a.pollOne(t)
	if st.State != StateHealthy || st.Version != "2.0.0" || h.installed != "2.0.0" {
		t.Fatalf("upgrade: %+v", st)
	}
	req := h.installs[len(h.installs)-1]
	if _, asked := req.Properties[DowngradeProperty]; asked || !strings.HasSuffix(req.MSI, "hellosvc_2.0.0_x64.msi") {
		t.Fatalf("msiexec request %+v", req)
	}
	// Nothing new: no install, still healthy.
	if st := a.pollOne(t); st.State != StateHealthy || len(h.installs) != 2 {
		t.Fatalf("steady state: %+v, %d installs", st, len(h.installs))
	}
}

func TestAFailedHealthGateRollsBackWithTheDowngradeProperty(t *testing.T) {
	s := newStore(t)
	s.release("2.0.0")
	s.release("3.0.0")
	s.point("2.0.0", nil, future)
	h := &fakeHost{broken: map[string]bool{"3.0.0": true}}
	a := newAgent(t, s, h, "h1")
	a.pollOne(t)
	s.point("3.0.0", &trust.Rollout{Previous: "2.0.0", Percent: 100, Steps: []int{100}, State: "active"}, future)
	st := a.pollOne(t)
	if st.State != StateRolledBack || st.Version != "2.0.0" || h.installed != "2.0.0" {
		t.Fatalf("rollback: %+v (host on %s)", st, h.installed)
	}
	if !strings.Contains(st.Error, "3.0.0: not healthy within 30s: service hellosvc is not running") ||
		!strings.Contains(st.LogTail, "Installing 3.0.0") {
		t.Fatalf("the report says why and shows the log: %+v", st)
	}
	if back := h.installs[len(h.installs)-1]; back.Properties[DowngradeProperty] != "1" || back.Properties["REINSTALLMODE"] != "amus" {
		t.Fatalf("rollback without the downgrade property: %+v", back)
	}
	// The failed target is not tried again; the host stays healthy on 2.0.0 and says so.
	n := len(h.installs)
	if st := a.pollOne(t); st.State != StateHealthy || st.Version != "2.0.0" || len(h.installs) != n ||
		st.FailedVersion != "3.0.0" || !strings.Contains(st.FailedReason, "not healthy within") {
		t.Fatalf("after rollback: %+v", st)
	}
}

func TestAFailedMsiexecIsReportedAsRolledBackByWindowsInstaller(t *testing.T) {
	s := newStore(t)
	s.release("2.0.0")
	s.release("3.0.0")
	s.point("2.0.0", nil, future)
	h := &fakeHost{}
	a := newAgent(t, s, h, "h1")
	a.pollOne(t)
	h.exitCodes = map[string]int{"3.0.0": 1603}
	s.point("3.0.0", nil, future)
	st := a.pollOne(t)
	if st.State != StateRolledBack || st.Version != "2.0.0" || !strings.Contains(st.Error, "msiexec exit code 1603") ||
		!strings.Contains(st.Error, "Windows Installer rolled back to 2.0.0") || len(h.installs) != 2 {
		t.Fatalf("%+v", st)
	}
}

func TestAFailedUpgradeThatLeftNothingIsUndoneByTheAgent(t *testing.T) {
	s := newStore(t)
	s.release("2.0.0")
	s.release("3.0.0")
	s.point("2.0.0", nil, future)
	h := &fakeHost{exitCodes: map[string]int{"3.0.0": 1627}, removesOld: true}
	a := newAgent(t, s, h, "h1")
	a.pollOne(t)
	s.point("3.0.0", nil, future)
	st := a.pollOne(t)
	if st.State != StateRolledBack || st.Version != "2.0.0" || h.installed != "2.0.0" ||
		!strings.Contains(st.Error, "the agent reinstalled 2.0.0") || st.FailedVersion != "3.0.0" {
		t.Fatalf("%+v (host on %q)", st, h.installed)
	}
}

func TestARolloutMovesOnlyTheHostsInItsStep(t *testing.T) {
	s := newStore(t)
	s.release("1.0.0")
	s.release("2.0.0")
	s.point("1.0.0", nil, future)
	in, out := hostsAround(t, 25)
	canary, other := &fakeHost{}, &fakeHost{}
	a, b := newAgent(t, s, canary, in), newAgent(t, s, other, out)
	a.pollOne(t)
	b.pollOne(t)
	s.point("2.0.0", &trust.Rollout{Previous: "1.0.0", Percent: 25, Steps: []int{25, 100}, State: "active"}, future)
	if st := a.pollOne(t); st.Version != "2.0.0" || st.State != StateHealthy {
		t.Fatalf("canary %s: %+v", in, st)
	}
	if st := b.pollOne(t); st.Version != "1.0.0" || st.Target != "1.0.0" {
		t.Fatalf("host %s outside the step: %+v", out, st)
	}
}

func TestRefusalsInstallNothing(t *testing.T) {
	cases := map[string]func(s *testStore){
		"another key": func(s *testStore) {
			s.key = testsign.New(2)
			s.release("2.0.0")
			s.point("2.0.0", nil, future)
		},
		"expired":  func(s *testStore) { s.point("2.0.0", nil, "2026-06-01T00:00:00Z") },
		"replayed": func(s *testStore) { s.write(product+"/channels/stable.json", s.history[0]) },
		"msi hash": func(s *testStore) {
			s.point("2.0.0", nil, future)
			s.write(product+"/2.0.0/hellosvc_2.0.0_x64.msi", []byte("fake MSI of 2.0.1"))
		},
		"edited pointer": func(s *testStore) {
			data := s.point("2.0.0", nil, future)
			s.write(product+"/channels/stable.json", []byte(strings.Replace(string(data), `"sequence": 3`, `"sequence": 9`, 1)))
		},
	}
	wants := map[string]string{"another key": "not pinned", "expired": "expired at 2026-06-01",
		"replayed": "has sequence 1, but this host has seen sequence 2", "msi hash": "the manifest says",
		"edited pointer": "does not match its signature"}
	for name, tamper := range cases {
		t.Run(name, func(t *testing.T) {
			s := newStore(t)
			s.release("1.0.0")
			s.release("2.0.0")
			s.point("1.0.0", nil, future)
			h := &fakeHost{}
			a := newAgent(t, s, h, "h1")
			a.pollOne(t)
			s.point("1.0.0", nil, future) // sequence 2, seen
			a.pollOne(t)
			tamper(s)
			st := a.pollOne(t)
			if st.State != StateRefused || !strings.Contains(st.Error, wants[name]) {
				t.Fatalf("%s: %+v", name, st)
			}
			if len(h.installs) != 1 || h.installed != "1.0.0" {
				t.Fatalf("%s: installed %s (%d installs)", name, h.installed, len(h.installs))
			}
		})
	}
}

func TestVerifyOnlyChecksEverythingAndInstallsNothing(t *testing.T) {
	s := newStore(t)
	s.release("1.0.0")
	s.point("1.0.0", nil, future)
	h := &fakeHost{}
	a := newAgent(t, s, h, "h1")
	a.VerifyOnly = true
	if st := a.pollOne(t); st.State != StateVerified || st.Target != "1.0.0" || len(h.installs) != 0 {
		t.Fatalf("%+v", st)
	}
	a.Keys = []minisign.PublicKey{testsign.New(3).Public()}
	if st := a.pollOne(t); st.State != StateRefused {
		t.Fatalf("%+v", st)
	}
}
