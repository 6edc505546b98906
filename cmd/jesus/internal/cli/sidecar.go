package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/jesus-go/jesus/jesus/discovery"

	"github.com/jesus-go/jesus/gateway/sidecar"
	"github.com/spf13/cobra"
)

type sidecarFlags struct {
	listen, unix, socketDir, channelHost string
	desc, addr, health                   string
	interval, callTimeout, appTimeout    time.Duration
	noPush, warn, allowUnproven, json    bool
	maxBody, maxBodies                   int64
	maxSubs, maxConcurrent               int
}

func newSidecarCmd(g *globals) *cobra.Command {
	var f sidecarFlags
	cmd := &cobra.Command{
		Use:   "sidecar",
		Short: "Serve an HTTP/JSON API that brings an app in any language into jesus",
		Long: `sidecar serves a small HTTP/JSON API on TCP (--listen) and on a unix socket (--unix),
so that an application in any language can take part in jesus without a jesus library:

  POST   /v1/call/SERVICE.METHOD   call a method: routed through the registry, the request
                                   checked against the receiver's schema before it leaves and
                                   the reply on return; Jesus-Mode overrides the declared mode;
                                   streams come as NDJSON, or SSE with Accept: text/event-stream
  POST   /v1/emit/EVENT            emit an event; the reply names who acknowledged it
  POST   /v1/answer                an app's later answer to a call that came with Jesus-Hook
  GET    /v1/events?name=EVENT     the events the apps here listen to, as server-sent events
  GET    /v1/ws?name=EVENT         a WebSocket that emits and receives events
  PUT    /v1/apps/SERVICE          register an app: {"descriptor": {...}, "url": "http://...",
                                   "healthcheck": "/health"}; the sidecar publishes the
                                   descriptor, serves its channels, validates each request and
                                   forwards it to POST {url}/{method}; it pushes the events the
                                   app listens to to POST {url}/events/{event}
  DELETE /v1/apps/SERVICE          deregister it
  GET    /v1/apps, /v1/registry, /v1/registry/SERVICE, /v1/health, /v1/stats

An app whose health check fails leaves the registry within one --healthcheck-interval and
comes back when it answers again. Errors are JSON {"code", "message", "details"} with the
status of the code, as on the http channel. PROTOCOL.md (section 10) has the whole API.

An app can also be registered at start, as the flags below say (--server-descriptor and
--server-address); it is registered once its health check first passes.

Examples:
  jesus sidecar --unix /run/jesus/sidecar.sock
  jesus sidecar --listen 127.0.0.1:8081 --server-descriptor greeter.json \
      --server-address http://127.0.0.1:9090 --healthcheck-url /health
  curl -d '{"zone":"UTC"}' http://127.0.0.1:8081/v1/call/clock.now
  curl --unix-socket /run/jesus/sidecar.sock -d '{"name":"Ada"}' http://sidecar/v1/emit/greeted`,
		Args: argsBetween(0, 0),
		RunE: func(c *cobra.Command, _ []string) error { return runSidecar(c.Context(), g, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", "127.0.0.1:8081", `TCP address of the API ("" for none)`)
	fl.StringVar(&f.unix, "unix", "", "unix socket path of the API (none by default)")
	fl.StringVar(&f.socketDir, "socket-dir", "", "directory of the apps' unix channels (default: that of --unix)")
	fl.StringVar(&f.channelHost, "channel-host", "127.0.0.1", "host the apps' tcp, http and udp channels bind on")
	fl.StringVar(&f.desc, "server-descriptor", "", "descriptor file of an app to register at start")
	fl.StringVar(&f.addr, "server-address", "", "URL of that app: http://host:port or unix:///path/app.sock")
	fl.StringVar(&f.health, "healthcheck-url", "", "health URL of that app, or a path under --server-address (none: no checks)")
	fl.DurationVar(&f.interval, "healthcheck-interval", 2*time.Second, "how often apps are health-checked (each check waits at most half)")
	fl.BoolVar(&f.noPush, "no-push", false, "do not push events to that app (it reads /v1/events or /v1/ws)")
	fl.BoolVar(&f.json, "json", false, `print where the API listens, and the app, as JSON lines on stdout ({"api": ...}, {"app": ...})`)
	fl.DurationVar(&f.callTimeout, "call-timeout", 30*time.Second, "deadline of a call or emit whose request has no Jesus-Timeout")
	fl.DurationVar(&f.appTimeout, "app-timeout", 30*time.Second, "deadline of one request forwarded to an app")
	fl.Int64Var(&f.maxBody, "max-body", 4<<20, "largest request body, app reply or WebSocket message, in bytes")
	fl.Int64Var(&f.maxBodies, "max-bodies", 256<<20, "most bytes of request bodies held by all API requests in flight")
	fl.IntVar(&f.maxConcurrent, "max-concurrent", 256, "most requests forwarded to one app at once")
	fl.IntVar(&f.maxSubs, "max-subscribers", 1024, "most SSE and WebSocket subscribers at once")
	fl.BoolVar(&f.warn, "compat-warn", false, "register an app that fails the startup compatibility check anyway (logged)")
	fl.BoolVar(&f.allowUnproven, "allow-unproven", false, "treat compatibility that cannot be proven as compatible")
	return cmd
}

func runSidecar(ctx context.Context, g *globals, f sidecarFlags) error {
	desc, err := f.check()
	if err != nil {
		return err
	}
	lns, err := sidecarListeners(f)
	if err != nil {
		return err
	}
	cn, cache, err := g.watch(ctx, "sidecar")
	if err != nil {
		closeAll(lns)
		return err
	}
	defer cn.Close()
	defer cache.Close()
	logger := slog.New(slog.NewTextHandler(g.env.Stderr, nil))
	sc, err := sidecar.New(sidecar.Config{
		Registry: cn.reg, Cache: cache, MaxBody: f.maxBody, MaxBodies: f.maxBodies, MaxConcurrent: f.maxConcurrent, CallTimeout: f.callTimeout, AppTimeout: f.appTimeout,
		HealthInterval: f.interval, MaxSubscribers: f.maxSubs, ChannelHost: f.channelHost, SocketDir: f.socketDir,
		Compat: discovery.CompatPolicy{Warn: f.warn, AllowUnproven: f.allowUnproven}, Logger: logger,
	})
	if err != nil {
		closeAll(lns)
		return usagef("%v", err)
	}
	var wg sync.WaitGroup
	for _, ln := range lns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := sc.Serve(ln); err != nil {
				logger.Error("sidecar: serving", "addr", ln.Addr().String(), "err", err)
			}
		}()
		if f.json {
			_ = writeJSONLine(g.env.Stdout, map[string]string{"api": ln.Addr().Network() + ":" + ln.Addr().String(), "registry": cn.where})
		} else {
			fmt.Fprintf(g.env.Stderr, "sidecar: serving the API on %s:%s (registry: %s)\n", ln.Addr().Network(), ln.Addr(), cn.where)
		}
	}
	stop := func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = sc.Shutdown(sctx)
		wg.Wait()
		if f.unix != "" {
			_ = os.Remove(f.unix)
		}
	}
	if desc != nil {
		if err := registerApp(ctx, g, sc, f, desc); err != nil {
			stop()
			return err
		}
	}
	<-ctx.Done()
	stop()
	return nil
}

// check refuses flags that do not go together, reads --server-descriptor (nil without
// one) and makes the socket directory absolute (by default the --unix socket's).
func (f *sidecarFlags) check() ([]byte, error) {
	if f.listen == "" && f.unix == "" {
		return nil, usagef("sidecar: give --listen, --unix or both")
	}
	if (f.desc == "") != (f.addr == "") {
		return nil, usagef("sidecar: --server-descriptor and --server-address go together")
	}
	var desc []byte
	if f.desc != "" {
		var err error
		if desc, err = os.ReadFile(f.desc); err != nil {
			return nil, usagef("sidecar: --server-descriptor: %v", err)
		}
	}
	if f.socketDir == "" && f.unix != "" {
		f.socketDir = filepath.Dir(f.unix)
	}
	if f.socketDir != "" {
		// Socket paths go into the registry: other processes, elsewhere, dial them.
		abs, err := filepath.Abs(f.socketDir)
		if err != nil {
			return nil, usagef("sidecar: --socket-dir %s: %v", f.socketDir, err)
		}
		f.socketDir = abs
	}
	return desc, nil
}

// registerApp registers the app of --server-descriptor and --server-address with sc and
// says so.
func registerApp(ctx context.Context, g *globals, sc *sidecar.Sidecar, f sidecarFlags, desc []byte) error {
	cfg := sidecar.AppConfig{Descriptor: desc, URL: f.addr, HealthCheck: f.health, IntervalMS: f.interval.Milliseconds()}
	if f.noPush {
		no := false
		cfg.Push = &no
	}
	info, err := sc.RegisterApp(ctx, cfg)
	if err != nil {
		return withCode(ExitFailure, fmt.Errorf("sidecar: app %s: %w", f.desc, err))
	}
	state := "registered"
	if !info.Registered {
		state = "waiting for its health check to pass"
	}
	if f.json {
		_ = writeJSONLine(g.env.Stdout, map[string]any{"app": info.Service + "@" + info.Version, "url": info.URL, "registered": info.Registered, "endpoints": info.Endpoints})
	} else {
		fmt.Fprintf(g.env.Stderr, "sidecar: app %s@%s at %s %s; channels %v\n", info.Service, info.Version, info.URL, state, info.Endpoints)
	}
	return nil
}

// sidecarListeners opens the TCP and unix listeners. A unix socket file left behind by a
// sidecar that died is removed; one that answers is in use, and an error.
func sidecarListeners(f sidecarFlags) ([]net.Listener, error) {
	var lns []net.Listener
	if f.listen != "" {
		ln, err := net.Listen("tcp", f.listen)
		if err != nil {
			return nil, withCode(ExitFailure, fmt.Errorf("sidecar: --listen: %w", err))
		}
		lns = append(lns, ln)
	}
	if f.unix != "" {
		if _, err := os.Stat(f.unix); err == nil {
			if c, err := net.DialTimeout("unix", f.unix, time.Second); err == nil {
				c.Close()
				closeAll(lns)
				return nil, withCode(ExitFailure, fmt.Errorf("sidecar: --unix %s: another process serves on it", f.unix))
			}
			_ = os.Remove(f.unix)
		}
		ln, err := net.Listen("unix", f.unix)
		if err != nil {
			closeAll(lns)
			return nil, withCode(ExitFailure, fmt.Errorf("sidecar: --unix %s: %w", f.unix, err))
		}
		lns = append(lns, ln)
	}
	return lns, nil
}

func closeAll(lns []net.Listener) {
	for _, ln := range lns {
		_ = ln.Close()
	}
}
