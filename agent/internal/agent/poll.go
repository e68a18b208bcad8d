package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"time"

	"example.com/winrelease/agent/internal/host"
	"example.com/winrelease/agent/internal/minisign"
	"example.com/winrelease/agent/internal/rollout"
	"example.com/winrelease/agent/internal/source"
	"example.com/winrelease/agent/internal/trust"
)

// Clock is the agent's time: the real one, or a test's.
type Clock interface {
	Now() time.Time
	Sleep(time.Duration)
}

// RealClock is the wall clock.
type RealClock struct{}

// Now is time.Now.
func (RealClock) Now() time.Time { return time.Now() }

// Sleep is time.Sleep.
func (RealClock) Sleep(d time.Duration) { time.Sleep(d) }

// Agent polls the store for each configured product.
type Agent struct {
	Config Config
	Keys   []minisign.PublicKey
	Host   host.Host
	Clock  Clock
	HTTP   *http.Client
	Log    io.Writer
	// VerifyOnly stops before installing: every check runs, nothing changes on the host
	// except the status and the highest sequence seen.
	VerifyOnly bool
}

// StateVerified is the status of a VerifyOnly poll that found everything genuine.
const StateVerified = "verified"

const maxPointer = 16 << 20

// Run polls every product until ctx ends, PollSeconds (+ up to JitterSeconds) apart.
func (a *Agent) Run(ctx context.Context) {
	for ctx.Err() == nil {
		a.PollAll(ctx)
		a.Clock.Sleep(a.nextPoll())
	}
}

func (a *Agent) nextPoll() time.Duration {
	poll := time.Duration(max(a.Config.PollSeconds, 1)) * time.Second
	if a.Config.JitterSeconds > 0 {
		poll += time.Duration(rand.Int64N(int64(a.Config.JitterSeconds) * int64(time.Second)))
	}
	return poll
}

// PollAll polls every product once and returns their statuses.
func (a *Agent) PollAll(ctx context.Context) []Status {
	var all []Status
	for _, p := range a.Config.Products {
		s := a.Poll(ctx, p)
		if err := writeStatus(a.Config.StatusDir, s, a.Clock.Now()); err != nil {
			fmt.Fprintf(a.Log, "%s: writing status: %v\n", p.Product, err)
		}
		fmt.Fprintf(a.Log, "%s %s: %s %s %s\n", p.Product, p.Channel, s.State, s.Version, s.Error)
		all = append(all, s)
	}
	return all
}

// Poll is one look at product p's channel and whatever it takes to follow it.
func (a *Agent) Poll(ctx context.Context, p Product) Status {
	status := Status{Product: p.Product, Channel: p.Channel, Host: a.Config.HostID,
		Place: rollout.Place(p.Product, a.Config.HostID)}
	st, err := loadState(a.Config.StateDir, p)
	if err != nil {
		return fail(status, StateError, err)
	}
	status.Version = st.Installed.Version
	status.FailedVersion, status.FailedReason = st.Failed.Version, st.FailedReason
	ptr, err := a.acceptPointer(p, &st)
	if err != nil {
		return fail(status, refusedOrError(err), err)
	}
	status.Sequence = ptr.Sequence
	want := rollout.Desired(ptr, status.Place, rollout.Installed{Current: st.Installed, Failed: st.Failed})
	status.Target = want.Version
	if want == st.Installed && !a.VerifyOnly {
		return a.report(status, p, st)
	}
	rel, err := a.fetch(p, want)
	if err != nil {
		return fail(status, refusedOrError(err), err)
	}
	if a.VerifyOnly {
		status.State, status.Health = StateVerified, "not checked"
		return status
	}
	return a.upgrade(ctx, status, p, st, rel, want)
}

// acceptPointer reads and verifies the channel pointer and records its sequence.
func (a *Agent) acceptPointer(p Product, st *State) (trust.Pointer, error) {
	src := source.New(a.Config.Store)
	key := p.Product + "/channels/" + p.Channel + ".json"
	data, err := source.ReadAll(src, key, maxPointer)
	if err != nil {
		return trust.Pointer{}, err
	}
	ptr, err := trust.OpenPointer(data, a.Keys, p.Product, p.Channel)
	if err != nil {
		return trust.Pointer{}, fmt.Errorf("%s: %w", src.Where(key), err)
	}
	digest := trust.Digest(data)
	if err := trust.CheckFresh(ptr, a.Clock.Now(), st.HighestSequence, st.HighestDigest, digest); err != nil {
		return trust.Pointer{}, fmt.Errorf("%s: %w", src.Where(key), err)
	}
	st.HighestSequence, st.HighestDigest = ptr.Sequence, digest
	return ptr, saveState(a.Config.StateDir, p, *st)
}

// fetch copies the wanted release into the cache and verifies it.
func (a *Agent) fetch(p Product, want rollout.Want) (trust.Release, error) {
	cache := cacheDir(a.Config.StateDir, p)
	rel, err := trust.FetchRelease(source.New(a.Config.Store), a.Keys, p.Product, want.Version, want.ManifestSHA256, p.Site, cache)
	if err != nil {
		return rel, err
	}
	return rel, trust.CheckManifestExpiry(rel.Manifest, a.Clock.Now())
}

// report is the status of a host already on the version it should run.
func (a *Agent) report(status Status, p Product, st State) Status {
	if reason := a.healthOnce(p); reason != "" {
		status.State, status.Health = StateUnhealthy, reason
		return status
	}
	status.State, status.Health = StateHealthy, "ok"
	return status
}

func fail(s Status, state string, err error) Status {
	s.State, s.Error = state, err.Error()
	if s.Health == "" {
		s.Health = "not checked"
	}
	return s
}

// refusedOrError tells a refusal (bad signature, content, expiry, replay) from a failure to
// reach the store or write the cache.
func refusedOrError(err error) string {
	for _, kind := range []error{trust.ErrSignature, trust.ErrContent, trust.ErrExpired, trust.ErrReplay} {
		if errors.Is(err, kind) {
			return StateRefused
		}
	}
	return StateError
}
