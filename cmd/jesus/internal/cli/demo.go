package cli

import (
	"errors"
	"time"

	"github.com/jesus-go/jesus/cmd/jesus/internal/demo"
	"github.com/spf13/cobra"
)

func newDemoCmd(g *globals) *cobra.Command {
	var schemas string
	var verbose, serve bool
	var adminAddr, httpAddr string
	var asJSON bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Show jesus doing its whole job on an embedded etcd",
		Long: `demo starts an embedded etcd in a temporary directory, publishes the example
descriptors of schemas/ and starts their services (orders, billing, audit) in this
process on real loopback sockets. Then it shows each capability at work and prints what
was sent, over which channel, what came back and how long it took: a call in each mode
over tcp, unix, http and udp, a stream, a domain event over http reaching its listeners
with acks, log events over udp with counts, a request refused by validation with its JSON
pointer, and the startup compatibility check (a compatible pair, and a breaking
descriptor refused).

It exits 0 only if every step behaved as expected, else 1 naming the step.

It runs on an embedded etcd of its own and ignores --etcd and --data-dir, unless --serve
is given: then it uses the registry as every other command does (--etcd, JESUS_ETCD, or
the "jesus registry serve" of the data directory), skips the final shutdown and keeps the
services running until interrupted, so that other commands (call, emit, listen, check
--live) and curl can talk to them.`,
		Args: argsBetween(0, 0),
		RunE: func(c *cobra.Command, _ []string) error {
			cfg := demo.Config{Schemas: schemas, Out: g.env.Stdout, Verbose: verbose, Timeout: timeout, Serve: serve, HTTPAddr: httpAddr}
			if httpAddr != "" && !serve {
				return usagef("demo: --http goes with --serve")
			}
			if serve {
				cn, err := g.open(c.Context())
				if err != nil {
					return err
				}
				defer cn.Close()
				cfg.Registry = cn.reg
				a, stopAdmin, err := openAdmin(adminAddr, g)
				if err != nil {
					return err
				}
				defer stopAdmin()
				cfg.Admin = a
			} else if adminAddr != "" {
				return usagef("demo: --admin goes with --serve")
			}
			if asJSON {
				cfg.Out = g.env.Stderr // the transcript; stdout gets the verdict
			}
			err := demo.Run(c.Context(), cfg)
			if asJSON {
				v := map[string]any{"ok": err == nil}
				var se *demo.StepError
				if errors.As(err, &se) {
					v["step"], v["title"], v["error"] = se.Step, se.Title, se.Err.Error()
				}
				_ = writeJSONLine(g.env.Stdout, v)
			}
			return withCode(ExitFailure, err)
		},
	}
	cmd.Flags().StringVar(&schemas, "schemas", "", "directory of the example descriptors (default: schemas/ here or in a parent directory)")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "also print the services' log lines")
	cmd.Flags().BoolVar(&serve, "serve", false, "use the configured registry and keep the services up until interrupted")
	cmd.Flags().DurationVar(&timeout, "timeout", 60*time.Second, "bound of the whole demo")
	addAdminFlag(cmd, &adminAddr)
	cmd.Flags().BoolVar(&asJSON, "json", false, `print the transcript on stderr and the verdict as one JSON line on stdout ({"ok": ..., "step", "title", "error"})`)
	cmd.Flags().StringVar(&httpAddr, "http", "", "with --serve: orders' http channel on this address (e.g. 127.0.0.1:8080), for curl")
	return cmd
}
