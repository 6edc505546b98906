package sidecar

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jesus-go/jesus/gateway/async"
	jdisc "github.com/jesus-go/jesus/jesus/discovery"

	"github.com/google/uuid"
	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/events"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/registry"
)

// AppConfig registers an application with the sidecar (the body of PUT /v1/apps/{service}).
type AppConfig struct {
	// Descriptor is the app's service descriptor, self-contained (no $ref to other files).
	Descriptor json.RawMessage `json:"descriptor"`
	// URL is where the app serves: "http://host:port[/prefix]", or "unix:///path/app.sock"
	// for an app that opens no port. Methods are forwarded to POST {URL}/{method}, events
	// pushed to POST {URL}/events/{event}.
	URL string `json:"url"`
	// HealthCheck is a URL (or a path under URL) that answers 2xx while the app is fit to
	// serve; "" means no check: the app stays registered until it is deregistered.
	HealthCheck string `json:"healthcheck,omitempty"`
	// IntervalMS is the health check interval in milliseconds (0: Config.HealthInterval).
	IntervalMS int64 `json:"intervalMs,omitempty"`
	// Push, when false, does not push the events the app listens to; it then reads them
	// from GET /v1/events or the WebSocket. Default true.
	Push *bool `json:"push,omitempty"`
}

// AppInfo describes a registered app (the reply of PUT and GET /v1/apps).
type AppInfo struct {
	Service     string            `json:"service"`
	Version     string            `json:"version"`
	URL         string            `json:"url"`
	Instance    string            `json:"instance"`
	Endpoints   map[string]string `json:"endpoints"`
	Registered  bool              `json:"registered"` // in the registry now (healthy, or unchecked)
	HealthCheck string            `json:"healthcheck,omitempty"`
	IntervalMS  int64             `json:"intervalMs,omitempty"`
	LastHealth  string            `json:"lastHealth,omitempty"` // the last failed check's reason
	Push        bool              `json:"push"`
	Compatible  bool              `json:"compatible"` // the last compatibility check passed
}

// app is one registered application: its server on the descriptor's channels, its bus,
// its client for calls it makes, and its health checker.
type app struct {
	s      *Sidecar
	d      *schema.Descriptor
	set    *schema.Set
	url    string
	base   string       // URL with unix:// mapped to http://app
	hc     *http.Client // to the app
	health string       // absolute health URL on base, "" none
	every  time.Duration
	push   bool

	srv    *jesus.Server
	bus    *events.Bus
	client *jesus.Client
	compat *jdisc.Compat
	inst   registry.Instance

	mu       sync.Mutex
	reg      *registry.Registration // nil while deregistered
	lastErr  string
	stopOnce sync.Once
	cancel   context.CancelFunc
	done     chan struct{} // closed when the health loop ended
}

// RegisterApp publishes the app's descriptor, serves its methods and events on the
// channels the descriptor declares, runs the startup compatibility check and registers
// the instance — at once without a health check, else once the first check passes.
// Registering a service again replaces the app.
func (s *Sidecar) RegisterApp(ctx context.Context, cfg AppConfig) (AppInfo, error) {
	a, err := s.newApp(cfg)
	if err != nil {
		return AppInfo{}, err
	}
	svc := a.d.Service
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return AppInfo{}, jesus.Errorf(jesus.CodeUnavailable, "sidecar: shutting down; app %s not registered", svc)
	}
	old := s.apps[svc]
	if old == nil && len(s.apps) >= s.cfg.MaxApps {
		s.mu.Unlock()
		return AppInfo{}, jesus.Errorf(jesus.CodeResourceExhausted, "sidecar: %d apps registered already, the limit; app %s not registered", s.cfg.MaxApps, svc)
	}
	delete(s.apps, svc)
	s.mu.Unlock()
	if old != nil {
		_ = old.stop(ctx)
	}
	if err := a.start(ctx); err != nil {
		_ = a.stop(ctx)
		return AppInfo{}, err
	}
	s.mu.Lock()
	if s.closed || s.apps[svc] != nil {
		s.mu.Unlock()
		_ = a.stop(ctx)
		return AppInfo{}, jesus.Errorf(jesus.CodeAlreadyExists, "sidecar: app %s was registered again (or the sidecar is stopping) meanwhile", svc)
	}
	s.apps[svc] = a
	s.mu.Unlock()
	return a.info(), nil
}

// DeregisterApp removes the app: its instance leaves the registry, then its server drains
// within ctx's bound.
func (s *Sidecar) DeregisterApp(ctx context.Context, service string) error {
	s.mu.Lock()
	a := s.apps[service]
	delete(s.apps, service)
	s.mu.Unlock()
	if a == nil {
		return jesus.Errorf(jesus.CodeNotFound, "sidecar: no app %q is registered with this sidecar", service)
	}
	return a.stop(ctx)
}

// Apps describes the registered apps, by service name.
func (s *Sidecar) Apps() []AppInfo {
	s.mu.Lock()
	apps := make([]*app, 0, len(s.apps))
	for _, a := range s.apps {
		apps = append(apps, a)
	}
	s.mu.Unlock()
	out := make([]AppInfo, 0, len(apps))
	for _, a := range apps {
		out = append(out, a.info())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Service < out[j].Service })
	return out
}

// newApp checks cfg and builds what needs no I/O.
func (s *Sidecar) newApp(cfg AppConfig) (*app, error) {
	var head struct {
		Service string `json:"service"`
	}
	if len(cfg.Descriptor) == 0 {
		return nil, jesus.Errorf(jesus.CodeInvalidArgument, "sidecar: app: no descriptor given")
	}
	if err := json.Unmarshal(cfg.Descriptor, &head); err != nil || !registry.ValidService(head.Service) {
		return nil, jesus.Errorf(jesus.CodeInvalidArgument, "sidecar: app: the descriptor names no valid service (want {\"service\": \"name\", ...})")
	}
	set := schema.NewSet()
	if err := set.Add(head.Service+".json", cfg.Descriptor); err != nil {
		return nil, jesus.Errorf(jesus.CodeInvalidArgument, "sidecar: app %s: %v", head.Service, err)
	}
	d := set.Service(head.Service)
	if d == nil {
		return nil, jesus.Errorf(jesus.CodeInvalidArgument, "sidecar: app %s: the descriptor did not load", head.Service)
	}
	a := &app{s: s, d: d, set: set, url: cfg.URL, push: cfg.Push == nil || *cfg.Push, done: make(chan struct{})}
	var err error
	if a.base, a.hc, err = appClient(cfg.URL, s.cfg.MaxBody); err != nil {
		return nil, jesus.Errorf(jesus.CodeInvalidArgument, "sidecar: app %s: %v", d.ID(), err)
	}
	if cfg.HealthCheck != "" {
		if a.health, err = healthURL(a.base, cfg.HealthCheck); err != nil {
			return nil, jesus.Errorf(jesus.CodeInvalidArgument, "sidecar: app %s: healthcheck %q: %v", d.ID(), cfg.HealthCheck, err)
		}
	}
	a.every = s.cfg.HealthInterval
	if cfg.IntervalMS < 0 || (cfg.IntervalMS > 0 && cfg.IntervalMS < 10) {
		return nil, jesus.Errorf(jesus.CodeInvalidArgument, "sidecar: app %s: intervalMs %d: want 0 (the default) or at least 10", d.ID(), cfg.IntervalMS)
	}
	if cfg.IntervalMS > 0 {
		a.every = time.Duration(cfg.IntervalMS) * time.Millisecond
	}
	for name, ch := range d.Channels {
		if ch.Transport == "unix" && s.cfg.SocketDir == "" {
			return nil, jesus.Errorf(jesus.CodeFailedPrecondition, "sidecar: app %s: channel %s is unix but the sidecar has no socket directory (--socket-dir)", d.ID(), name)
		}
	}
	return a, nil
}

// appClient maps an app URL to the base of its requests and an HTTP client that reaches
// it (over a unix socket for unix:// URLs).
func appClient(raw string, maxBody int64) (string, *http.Client, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", nil, fmt.Errorf("url %q: %v", raw, err)
	}
	tr := &http.Transport{
		MaxIdleConnsPerHost:    64,
		IdleConnTimeout:        90 * time.Second,
		ResponseHeaderTimeout:  0, // bounded by each request's context
		MaxResponseHeaderBytes: 64 << 10,
		DisableCompression:     true,
	}
	switch u.Scheme {
	case "http":
		if u.Host == "" {
			return "", nil, fmt.Errorf("url %q has no host", raw)
		}
		tr.Proxy = nil
		return strings.TrimSuffix(raw, "/"), &http.Client{Transport: tr}, nil
	case "unix":
		path := u.Path
		if path == "" {
			return "", nil, fmt.Errorf("url %q: want unix:///path/to/app.sock", raw)
		}
		var d net.Dialer
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", path)
		}
		return "http://app", &http.Client{Transport: tr}, nil
	}
	return "", nil, fmt.Errorf("url %q: want http://host:port or unix:///path/app.sock", raw)
}

func healthURL(base, h string) (string, error) {
	if strings.HasPrefix(h, "/") {
		return base + h, nil
	}
	u, err := url.Parse(h)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return "", errors.New("want a path (/health) or an http:// URL")
	}
	return h, nil
}

// start brings the app up; on error the caller stops it.
func (a *app) start(ctx context.Context) error {
	s, d := a.s, a.d
	compat, err := startCompat(d, s.cfg.Cache, s.cfg.Compat, s.cfg.Logger)
	if err != nil {
		return err
	}
	a.compat = compat
	a.srv = jesus.NewServer(d.Service, jesus.WithValidation(jesus.ServiceSchemas(a.set, d.Service, d.Version)), jesus.WithLogger(s.cfg.Logger), jesus.WithMaxConcurrent(s.cfg.MaxConcurrent))
	for name, m := range d.Methods {
		a.handle(name, m.Mode)
	}
	a.bus, err = newBus(d, a.set, s.disc, a.srv, events.WithLogger(s.cfg.Logger))
	if err != nil {
		return jesus.Errorf(jesus.CodeInvalidArgument, "sidecar: app %s: %v", d.ID(), err)
	}
	for ev := range d.Listens {
		if err := events.On(a.bus, ev, a.onEvent); err != nil {
			return jesus.Errorf(jesus.CodeInvalidArgument, "sidecar: app %s: listening to %s: %v", d.ID(), ev, err)
		}
	}
	if err := a.srv.ListenDescriptor(ctx, d, a.addr); err != nil {
		return err
	}
	a.client = jesus.NewClient(d.Service, jesus.WithResolver(s.disc.resolver()), jesus.WithInterceptors(async.Interceptor()),
		jesus.WithValidation(jesus.CallerSchemas(a.set, d.Service, d.Version, s.disc.validation())), jesus.WithLogger(s.cfg.Logger))
	doc, err := d.Bundle()
	if err != nil {
		return jesus.Errorf(jesus.CodeInvalidArgument, "sidecar: app %s: bundle: %v", d.ID(), err)
	}
	if err := s.cfg.Registry.PublishDescriptor(ctx, d.Service, d.Version, doc); err != nil {
		code := jesus.CodeUnavailable
		if errors.Is(err, registry.ErrVersionExists) {
			code = jesus.CodeAlreadyExists
		}
		return jesus.Errorf(code, "sidecar: app %s: publish: %v", d.ID(), err)
	}
	a.inst = registry.Instance{ID: uuid.NewString(), Service: d.Service, Version: d.Version, Endpoints: a.srv.Endpoints(), StartedAt: time.Now()}
	if a.health == "" {
		a.setHealth(ctx, nil)
	} else {
		a.setHealth(ctx, a.probe(ctx))
	}
	hctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	if a.health == "" {
		close(a.done)
	} else {
		go a.healthLoop(hctx)
	}
	return nil
}

// addr places the app's channels: tcp, http and udp on ChannelHost with a free port,
// unix sockets in SocketDir.
func (a *app) addr(name string, sp channel.Spec) string {
	if sp.Transport == "unix" {
		return filepath.Join(a.s.cfg.SocketDir, a.d.Service+"."+name+".sock")
	}
	return net.JoinHostPort(a.s.cfg.ChannelHost, "0")
}

// stop deregisters the app, then drains its server within ctx. Repeat-safe.
func (a *app) stop(ctx context.Context) error {
	var err error
	a.stopOnce.Do(func() {
		if a.cancel != nil {
			a.cancel()
			<-a.done
		}
		a.mu.Lock()
		g := a.reg
		a.reg = nil
		a.mu.Unlock()
		if g != nil {
			err = g.Close(context.WithoutCancel(ctx))
		}
		if a.bus != nil {
			_ = a.bus.Close()
		}
		if a.compat != nil {
			a.compat.Close()
		}
		if a.srv != nil {
			if e := a.srv.Shutdown(ctx); e != nil && ctx.Err() == nil {
				err = errors.Join(err, e)
			}
		}
		if a.client != nil {
			_ = a.client.Close()
		}
		a.hc.CloseIdleConnections()
	})
	return err
}

func (a *app) info() AppInfo {
	a.mu.Lock()
	defer a.mu.Unlock()
	in := AppInfo{
		Service: a.d.Service, Version: a.d.Version, URL: a.url, Instance: a.inst.ID,
		Endpoints: a.inst.Endpoints, Registered: a.reg != nil, HealthCheck: a.health,
		LastHealth: a.lastErr, Push: a.push,
	}
	if a.health != "" {
		in.IntervalMS = a.every.Milliseconds()
	}
	if a.compat != nil {
		in.Compatible = a.compat.Ready()
	}
	return in
}
