package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/jesus-go/jesus/cmd/jesus/internal/dashboard"
	"github.com/jesus-go/jesus/jesus/admin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
)

func newDashboardCmd(g *globals) *cobra.Command {
	var listen, adminAddr string
	var interval time.Duration
	var evs []string
	cmd := &cobra.Command{
		Use:   "dashboard",
		Short: "Serve a web page of the live system: services, instances, methods, rates, compatibility, events",
		Long: `dashboard serves one page (no external assets) at --listen that shows every service
of the registry: versions, live instances and their endpoints, methods with their
schemas, request and error rates and latencies from each instance's $stats (asked every
--interval), the compatibility of every caller/receiver pair, and recent registry events.
With --events it also joins as a listener of those events (as "jesus listen" does) and
shows each one among the recent events. It runs until interrupted. --admin also opens
/metrics, /healthz and /readyz.

Example:
  jesus dashboard --listen 127.0.0.1:8090 --events order.created,log`,
		Args: argsBetween(0, 0),
		RunE: func(c *cobra.Command, _ []string) error {
			ctx := c.Context()
			cn, cache, err := g.watch(ctx, "dashboard")
			if err != nil {
				return err
			}
			defer cn.Close()
			defer cache.Close()
			stopAdmin, err := startAdmin(adminAddr, g)
			if err != nil {
				return err
			}
			defer stopAdmin()
			d := dashboard.New(dashboard.Config{Cache: cache, Interval: interval})
			defer d.Close()
			if len(evs) > 0 {
				stop, err := feedEvents(ctx, cn, evs, d)
				if err != nil {
					return err
				}
				defer stop()
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return withCode(ExitFailure, fmt.Errorf("dashboard: listen on %s: %w", listen, err))
			}
			srv := &http.Server{Handler: d.Handler(), ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
			fmt.Fprintf(g.env.Stdout, "dashboard: http://%s/ (registry: %s)\n", ln.Addr(), cn.where)
			errc := make(chan error, 1)
			go func() { errc <- srv.Serve(ln) }()
			select {
			case <-ctx.Done():
			case err := <-errc:
				return withCode(ExitFailure, fmt.Errorf("dashboard: %w", err))
			}
			sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if err := srv.Shutdown(sctx); err != nil {
				_ = srv.Close()
			}
			if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
				return withCode(ExitFailure, fmt.Errorf("dashboard: %w", err))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8090", "address of the page")
	cmd.Flags().DurationVar(&interval, "interval", time.Second, "how often every instance is asked for $stats")
	cmd.Flags().StringSliceVar(&evs, "events", nil, "also listen to these events and show them (comma separated)")
	addAdminFlag(cmd, &adminAddr)
	return cmd
}

// addAdminFlag adds --admin to a long-running command.
func addAdminFlag(cmd *cobra.Command, addr *string) {
	cmd.Flags().StringVar(addr, "admin", "", "also serve /metrics, /healthz and /readyz on this address (e.g. 127.0.0.1:9090)")
}

// startAdmin opens the admin listener when addr is set: the process's Go and process
// metrics on /metrics, liveness and readiness. It returns how to stop it.
func startAdmin(addr string, g *globals) (func(), error) {
	_, stop, err := openAdmin(addr, g)
	return stop, err
}

// openAdmin is startAdmin that also returns the Admin (nil without addr), for commands
// that add their servers and checks to it.
func openAdmin(addr string, g *globals) (*admin.Admin, func(), error) {
	if addr == "" {
		return nil, func() {}, nil
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a := admin.New(reg)
	bound, err := a.Listen(addr)
	if err != nil {
		return nil, nil, withCode(ExitFailure, err)
	}
	fmt.Fprintf(g.env.Stderr, "admin: http://%s/metrics /healthz /readyz\n", bound)
	return a, func() { _ = a.Close() }, nil
}

// feedEvents listens to evs as "jesus listen" does and records each on d; stop ends it.
func feedEvents(ctx context.Context, cn *conn, evs []string, d *dashboard.Dashboard) (stop func(), err error) {
	l, err := startListener(ctx, cn.reg, evs)
	if err != nil {
		return nil, err
	}
	fctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-fctx.Done():
				return
			case rec, ok := <-l.tail:
				if !ok {
					return
				}
				p := string(rec.Payload)
				if len(p) > 200 {
					p = p[:200] + "…"
				}
				d.Record("event", fmt.Sprintf("%s from %s (corrid %s): %s", rec.Event, rec.From, rec.CorrID, p))
			}
		}
	}()
	return func() {
		cancel()
		<-done
		l.close()
	}, nil
}
