package sidecar

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jesus-go/jesus/gateway/async"
	"github.com/jesus-go/jesus/jesus"
)

// Sidecar serves the API of PROTOCOL.md section 10. Create it with New, serve it with
// Serve (on as many listeners as wanted, e.g. TCP and a unix socket) or mount Handler,
// and stop it with Shutdown or Close.
type Sidecar struct {
	cfg     Config
	disc    *discovery
	calls   *jesus.Client    // calls made without an app of this sidecar as sender
	answers *async.Responder // delivers applications' answers to response hooks
	mux     *http.ServeMux
	subs    *hub
	stats   stats
	// bodies is the bytes of request bodies held by requests in flight (Config.MaxBodies).
	bodies atomic.Int64

	mu       sync.Mutex
	apps     map[string]*app     // by service
	emitters map[string]*emitter // by service@version: emit-only buses of published services
	servers  []*http.Server
	wsConns  sync.WaitGroup // WebSocket handlers: their connections are hijacked
	closed   bool
	done     chan struct{} // closed by Close: long requests (SSE, WebSocket) end
}

// New returns a sidecar on cfg's registry. It starts nothing until Serve or
// RegisterApp.
func New(cfg Config) (*Sidecar, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Sidecar{
		cfg:      cfg,
		apps:     map[string]*app{},
		emitters: map[string]*emitter{},
		done:     make(chan struct{}),
	}
	s.disc = newDiscovery(cfg.Cache)
	s.calls = jesus.NewClient(cfg.Name, jesus.WithResolver(s.disc.resolver()), jesus.WithValidation(s.disc.validation()), jesus.WithLogger(cfg.Logger),
		jesus.WithInterceptors(async.Interceptor()))
	s.answers = async.NewResponder(async.ResponderConfig{Client: s.calls, Logger: cfg.Logger})
	s.subs = newHub(cfg.MaxSubscribers, cfg.SubscriberBuffer)
	s.routes()
	return s, nil
}

func (s *Sidecar) routes() {
	m := http.NewServeMux()
	for pattern, h := range map[string]http.HandlerFunc{
		"POST /v1/call/{target}":     s.handleCall,
		"POST /v1/emit/{event}":      s.handleEmit,
		"POST /v1/answer":            s.handleAnswer,
		"GET /v1/events":             s.handleSSE,
		"GET /v1/ws":                 s.handleWS,
		"PUT /v1/apps/{service}":     s.handlePutApp,
		"DELETE /v1/apps/{service}":  s.handleDeleteApp,
		"GET /v1/apps":               s.handleListApps,
		"GET /v1/registry":           s.handleRegistry,
		"GET /v1/registry/{service}": s.handleRegistryService,
		"GET /v1/health":             s.handleHealth,
		"GET /v1/stats":              s.handleStats,
	} {
		m.HandleFunc(pattern, h)
	}
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, jesus.Errorf(jesus.CodeNotFound, "sidecar: no API at %s %s (see PROTOCOL.md section 10: /v1/call, /v1/emit, /v1/events, /v1/ws, /v1/apps, /v1/registry, /v1/health, /v1/stats)", r.Method, r.URL.Path))
	})
	s.mux = m
}

// Handler returns the API as an http.Handler.
func (s *Sidecar) Handler() http.Handler { return s.mux }

// Serve serves the API on ln until Shutdown or Close; it then returns nil.
func (s *Sidecar) Serve(ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          nil,
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ln.Close()
		return nil
	}
	s.servers = append(s.servers, hs)
	s.mu.Unlock()
	err := hs.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting API requests, ends subscribers, deregisters every app and
// drains its server within ctx's bound, then closes what is left.
func (s *Sidecar) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	servers := s.servers
	apps := s.apps
	s.apps = map[string]*app{}
	emitters := s.emitters
	s.emitters = map[string]*emitter{}
	s.mu.Unlock()

	s.subs.close()
	var errs []error
	errs = append(errs, s.answers.Shutdown(ctx))
	for _, a := range apps {
		errs = append(errs, a.stop(ctx))
	}
	for _, hs := range servers {
		if err := hs.Shutdown(ctx); err != nil {
			_ = hs.Close()
			errs = append(errs, err)
		}
	}
	wsDone := make(chan struct{})
	go func() {
		s.wsConns.Wait()
		close(wsDone)
	}()
	select {
	case <-wsDone:
	case <-ctx.Done():
		// Each ends within writeTimeout of done closing; wait that long at most.
		select {
		case <-wsDone:
		case <-time.After(writeTimeout):
		}
	}
	for _, e := range emitters {
		e.close()
	}
	_ = s.calls.Close()
	s.disc.close()
	return errors.Join(errs...)
}

// Close stops at once: Shutdown with a context that has ended. Repeat-safe.
func (s *Sidecar) Close() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Shutdown(ctx)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// isClosed reports whether Shutdown or Close began.
func (s *Sidecar) isClosed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}
