// Command jesus is the command line of jesus: it publishes and checks service
// descriptors, calls methods, emits and tails events, runs an embedded etcd, and shows the
// whole system at work with "jesus demo". Run "jesus --help" for the commands and the
// exit codes.
package main

import (
	"context"
	"os"

	"github.com/jesus-go/jesus/cmd/jesus/internal/cli"
)

func main() {
	os.Exit(cli.Main(context.Background(), os.Args[1:], cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}))
}
