// Package admin is the operating surface of a jesus process over HTTP: /metrics for
// Prometheus, /healthz for liveness and /readyz for readiness (false while a start-up
// check fails or a server drains). It also has RequestLog, a slog interceptor that writes
// one line per call, off unless installed.
package admin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jesus-go/jesus/jesus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Check is one readiness condition: nil when ready, an error saying why not.
type Check func() error

// Admin serves /metrics, /healthz and /readyz. Add checks before or after Listen; all
// methods are safe for concurrent use and Close is repeat-safe.
type Admin struct {
	gatherer prometheus.Gatherer

	mu     sync.Mutex
	checks map[string]Check
	srv    *http.Server
	ln     net.Listener
	done   chan struct{}
}

// New returns an admin surface whose /metrics serves g (nil: no /metrics, 404).
func New(g prometheus.Gatherer) *Admin {
	return &Admin{gatherer: g, checks: map[string]Check{}}
}

// AddCheck adds (or replaces) the readiness check named name.
func (a *Admin) AddCheck(name string, c Check) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.checks[name] = c
}

// AddServer makes /readyz fail while s drains (Shutdown or Close has begun).
func (a *Admin) AddServer(s *jesus.Server) {
	a.AddCheck("server "+s.Name(), func() error {
		if s.Draining() {
			return fmt.Errorf("server %s is draining", s.Name())
		}
		return nil
	})
}

// Ready runs every check and returns the failures, sorted by name ("" when ready).
func (a *Admin) Ready() []string {
	a.mu.Lock()
	names := make([]string, 0, len(a.checks))
	for n := range a.checks {
		names = append(names, n)
	}
	checks := make([]Check, len(names))
	sort.Strings(names)
	for i, n := range names {
		checks[i] = a.checks[n]
	}
	a.mu.Unlock()
	var fails []string
	for i, c := range checks {
		if err := c(); err != nil {
			fails = append(fails, names[i]+": "+err.Error())
		}
	}
	return fails
}

// Handler serves the three paths; mount it on a mux of your own or use Listen.
func (a *Admin) Handler() http.Handler {
	mux := http.NewServeMux()
	if a.gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(a.gatherer, promhttp.HandlerOpts{MaxRequestsInFlight: 4}))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if fails := a.Ready(); len(fails) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("not ready\n" + strings.Join(fails, "\n") + "\n"))
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}

// Listen binds addr (e.g. "127.0.0.1:9090"; port 0 picks one) and serves in the
// background until Close. It returns the bound address.
func (a *Admin) Listen(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("admin: listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute, MaxHeaderBytes: 16 << 10}
	a.mu.Lock()
	if a.srv != nil {
		a.mu.Unlock()
		_ = ln.Close()
		return "", errors.New("admin: already listening on " + a.ln.Addr().String())
	}
	a.srv, a.ln, a.done = srv, ln, make(chan struct{})
	a.mu.Unlock()
	go func() {
		defer close(a.done)
		_ = srv.Serve(ln)
	}()
	return ln.Addr().String(), nil
}

// Close stops the listener, waiting up to a second for requests in flight. Repeat-safe.
func (a *Admin) Close() error {
	a.mu.Lock()
	srv, done := a.srv, a.done
	a.mu.Unlock()
	if srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := srv.Shutdown(ctx)
	if err != nil {
		_ = srv.Close()
	}
	<-done
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
