package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/gateway/hub"
	"github.com/spf13/cobra"
)

func newHubCmd(g *globals) *cobra.Command {
	var (
		addr       string
		frontHost  string
		noRegistry bool
		asJSON     bool
		dur        time.Duration
		cfg        = hub.DefaultConfig()
	)
	cmd := &cobra.Command{
		Use:   "hub",
		Short: "Run a job hub: services without ports pull their calls from it",
		Long: `hub runs a job hub with AstroHub's HTTP API, so that services that open no port
can serve: callers queue a job and wait for its answer, workers long-poll for jobs and
post the answers back.

  POST /service/{name}          queue a job (the body, JSON) and wait for the answer;
                                name is "service.method" for a service with a descriptor
  GET  /service/{name}/jobs     the next job, {"id","originalRequest",...}; 204 after ?wait=
  POST /jobs/{id}               answer a job (JSON body; with Jesus-Error-Code, an error)
  POST /jobs/{id}/lease         keep holding a job that takes longer than --lease
  GET  /stats                   queued, leased and waiting counts

A worker holds a job for --lease; if it has not answered by then (it died), the job goes
to the next worker. Each service's queue holds at most --max-queue jobs; more are refused
with 429 resource_exhausted.

With the registry (the default; see jesus --help), the hub registers itself as service
"jesus-hub" (endpoint "pull") so that Go workers find every live hub, checks requests
against the published descriptors, and, for every service with live workers and a
descriptor, listens on the descriptor's channels and registers them as an instance of the
service: ordinary jesus clients then call the service through the hub without knowing.
A Go jesus.Server serves through hubs with a gateway/hub.Worker (Server.ListenVia).

Example:
  jesus hub --listen 127.0.0.1:8080 --no-registry &
  curl -s 'http://127.0.0.1:8080/service/echo/jobs?wait=30s'       # a worker, waiting
  curl -s -d '{"text":"hi"}' http://127.0.0.1:8080/service/echo    # a caller

It runs until interrupted, or for --for. PROTOCOL.md, section 11, has the details.`,
		Args: argsBetween(0, 0),
		RunE: func(c *cobra.Command, args []string) error {
			if frontHost != "" {
				cfg.FrontAddr = func(service, name string, sp channel.Spec) string {
					if sp.Transport == "unix" {
						return "" // the hub's own socket directory
					}
					return net.JoinHostPort(frontHost, "0")
				}
			}
			return runHub(c.Context(), g, addr, noRegistry, dur, asJSON, cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "listen", "127.0.0.1:8080", "address of the HTTP API")
	f.StringVar(&frontHost, "front-host", "127.0.0.1", "host the channels of fronted services listen on (free ports), as callers reach it")
	f.BoolVar(&noRegistry, "no-registry", false, "run without etcd: queues by name, no schemas, nothing registered")
	f.DurationVar(&dur, "for", 0, "stop after this long (0: until interrupted)")
	f.BoolVar(&asJSON, "json", false, `print where the hub listens as one JSON line on stdout ({"hub": URL, "registry": ...})`)
	f.DurationVar(&cfg.Lease, "lease", cfg.Lease, "how long a worker holds a job before it goes to another worker")
	f.IntVar(&cfg.MaxQueue, "max-queue", cfg.MaxQueue, "jobs waiting for a worker, per service")
	f.IntVar(&cfg.MaxBody, "max-body", cfg.MaxBody, "bytes of one request or answer")
	f.IntVar(&cfg.MaxWaiters, "max-polls", cfg.MaxWaiters, "long-polls waiting at once")
	f.DurationVar(&cfg.PollWait, "poll-wait", cfg.PollWait, "how long a poll waits for a job when it gives no ?wait=")
	f.DurationVar(&cfg.CallWait, "call-wait", cfg.CallWait, "the longest a call waits for its answer")
	f.DurationVar(&cfg.Idle, "idle", cfg.Idle, "deregister a service whose workers were not seen for this long")
	return cmd
}

func runHub(ctx context.Context, g *globals, addr string, noRegistry bool, dur time.Duration, asJSON bool, cfg hub.Config) error {
	if dur < 0 {
		return usagef("hub: --for must not be negative")
	}
	where := "no registry"
	if !noRegistry {
		cn, err := g.open(ctx)
		if err != nil {
			return err
		}
		defer cn.Close()
		cache, err := cn.reg.Watch(ctx)
		if err != nil {
			return registryErr(err)
		}
		defer cache.Close()
		cfg.Registry, cfg.Cache, where = cn.reg, cache, cn.where
	}
	cfg.Logger = slog.New(slog.NewTextHandler(g.env.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	h, err := hub.New(cfg)
	if err != nil {
		return usagef("%v", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		h.Close()
		return withCode(ExitUnavailable, fmt.Errorf("hub: listen on %s: %w", addr, err))
	}
	if asJSON {
		_ = writeJSONLine(g.env.Stdout, map[string]string{"hub": "http://" + ln.Addr().String(), "registry": where})
	} else {
		fmt.Fprintf(g.env.Stderr, "hub listening on http://%s (%s)\n", ln.Addr(), where)
	}
	served := make(chan error, 1)
	go func() { served <- h.Serve(ln) }()
	if dur > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, dur)
		defer cancel()
	}
	select {
	case <-ctx.Done():
		h.Close()
		<-served
		return nil
	case err := <-served:
		h.Close()
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return withCode(ExitFailure, err)
	}
}
