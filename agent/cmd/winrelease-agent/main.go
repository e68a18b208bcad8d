// Command winrelease-agent keeps products on a Windows host at the version their release
// channel asks for: it polls a winrelease store, verifies what it reads, installs with
// msiexec, gates on health, rolls back, and reports to a status folder. See ../../README.md.
//
//	winrelease-agent run    -config agent.json   poll forever (what the service runs)
//	winrelease-agent once   -config agent.json   one poll of every product
//	winrelease-agent verify -config agent.json   every check of a poll, installing nothing
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"time"

	"example.com/winrelease/agent/internal/agent"
	"example.com/winrelease/agent/internal/host"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// offsetClock is the wall clock shifted to start at a given instant (-now): audits of old
// stores and tests with fixed dates.
type offsetClock struct{ offset time.Duration }

func (c offsetClock) Now() time.Time        { return time.Now().Add(c.offset) }
func (c offsetClock) Sleep(d time.Duration) { time.Sleep(d) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "run" && args[0] != "once" && args[0] != "verify") {
		fmt.Fprintln(stderr, "usage: winrelease-agent run|once|verify -config FILE [-now RFC3339]")
		return 2
	}
	flags := flag.NewFlagSet(args[0], flag.ContinueOnError)
	flags.SetOutput(stderr)
	configPath := flags.String("config", "", "the agent's config file (JSON)")
	now := flags.String("now", "", "act as if the time were this RFC 3339 instant (audits, tests)")
	if err := flags.Parse(args[1:]); err != nil {
		return 2
	}
	config, keys, err := agent.LoadConfig(*configPath)
	if err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		return 2
	}
	var clock agent.Clock = agent.RealClock{}
	if *now != "" {
		at, err := time.Parse(time.RFC3339, *now)
		if err != nil {
			fmt.Fprintf(stderr, "error: -now %q is not RFC 3339\n", *now)
			return 2
		}
		clock = offsetClock{offset: time.Until(at)}
	}
	a := &agent.Agent{Config: config, Keys: keys, Host: host.Default(), Clock: clock,
		HTTP: &http.Client{Timeout: 10 * time.Second}, Log: stderr, VerifyOnly: args[0] == "verify"}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if args[0] == "run" {
		a.Run(ctx)
		return 0
	}
	code := 0
	for _, s := range a.PollAll(ctx) {
		line, _ := json.Marshal(s)
		fmt.Fprintln(stdout, string(line))
		if s.State != agent.StateHealthy && s.State != agent.StateVerified {
			code = 1
		}
	}
	return code
}
