// Command hellosvc is the example HTTP service shipped by the winrelease
// pipeline: a Windows service (with --service) that also runs in the
// foreground on any OS. See ../../README.md.
package main

import (
	"os"

	"example.com/hellosvc/internal/app"
	"example.com/hellosvc/internal/server"
)

// Version metadata, set by the pipeline at link time:
//
//	-ldflags "-X main.version=1.2.3 -X main.commit=<sha> -X main.commitTime=<RFC 3339> -X main.dirty=false"
var (
	version    = "0.0.0-dev"
	commit     = "unknown"
	commitTime = ""
	dirty      = "false"
)

func main() {
	info := server.NewBuildInfo(version, commit, commitTime, dirty)
	os.Exit(app.Main(os.Args[1:], os.Stdout, os.Stderr, info))
}
