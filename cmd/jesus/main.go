// Command jesus is the command line of jesus: it publishes and checks service
// descriptors, calls methods, emits and tails events, runs an embedded etcd, and shows the
// whole system at work with "jesus demo". Run "jesus --help" for the commands and the
// exit codes.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/jesus-go/jesus/cmd/jesus/internal/cli"
)

func main() {
	// SIGINT and SIGTERM end the command's context: listen and registry serve stop
	// cleanly, a call is cancelled. A second signal kills the process.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
	stop()
	os.Exit(code)
}
