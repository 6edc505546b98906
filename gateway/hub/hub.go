package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/schema/registry"
)

// Config configures a Hub. Zero fields take the defaults of DefaultConfig.
type Config struct {
	// Registry and Cache, when set, give the hub the descriptors it checks requests
	// against and where it registers itself and the services it fronts. Without them
	// the hub is a plain AstroHub: queues by name, no schemas.
	Registry *registry.Registry
	Cache    *registry.Cache
	// FrontAddr places the channels of a fronted service; "" (and the default) is
	// 127.0.0.1 with a free port, and for unix a socket in a directory of the hub's own.
	FrontAddr func(service, name string, sp channel.Spec) string

	MaxBody     int           // bytes of one request or answer body (4 MiB)
	MaxQueue    int           // jobs waiting for a worker, per service (1024)
	MaxJobs     int           // open jobs (queued or held by a worker) in total (65536)
	MaxJobBytes int64         // bytes of open jobs' requests in total (256 MiB)
	MaxWaiters  int           // long-polls waiting at once, in total (10000)
	MaxServices int           // services with a queue (1024)
	PollWait    time.Duration // how long a poll waits for a job when it does not say (20 s)
	MaxPollWait time.Duration // the longest wait a poll may ask for (60 s)
	CallWait    time.Duration // the longest a call waits for its answer (60 s)
	Lease       time.Duration // how long a worker holds a job before it goes to another (30 s)
	Idle        time.Duration // a service whose workers were not seen for this long is deregistered (10 s)

	Logger *slog.Logger // nil: discard
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{
		MaxBody:     4 << 20,
		MaxQueue:    1024,
		MaxJobs:     65536,
		MaxJobBytes: 256 << 20,
		MaxWaiters:  10000,
		MaxServices: 1024,
		PollWait:    20 * time.Second,
		MaxPollWait: 60 * time.Second,
		CallWait:    60 * time.Second,
		Lease:       30 * time.Second,
		Idle:        10 * time.Second,
		Logger:      slog.New(slog.DiscardHandler),
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	setInt := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	setDur := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	setInt(&c.MaxBody, d.MaxBody)
	setInt(&c.MaxQueue, d.MaxQueue)
	setInt(&c.MaxJobs, d.MaxJobs)
	setInt(&c.MaxWaiters, d.MaxWaiters)
	setInt(&c.MaxServices, d.MaxServices)
	if c.MaxJobBytes <= 0 {
		c.MaxJobBytes = d.MaxJobBytes
	}
	setDur(&c.PollWait, d.PollWait)
	setDur(&c.MaxPollWait, d.MaxPollWait)
	setDur(&c.CallWait, d.CallWait)
	setDur(&c.Lease, d.Lease)
	setDur(&c.Idle, d.Idle)
	if c.PollWait > c.MaxPollWait {
		c.PollWait = c.MaxPollWait
	}
	if c.Logger == nil {
		c.Logger = d.Logger
	}
	return c
}

// Validate reports a config that cannot work.
func (c Config) Validate() error {
	if (c.Registry == nil) != (c.Cache == nil) {
		return errors.New("hub: Registry and Cache go together: set both or neither")
	}
	return nil
}

// Hub queues jobs for services and hands them to the workers that poll for them.
// Its methods are safe for concurrent use; Close is repeat-safe.
type Hub struct {
	cfg  Config
	id   string
	disc *discovery // nil without a registry
	mux  *http.ServeMux
	kick chan struct{}

	mu      sync.Mutex
	closed  bool
	closing chan struct{}
	jobs    map[string]*job
	queues  map[string]*queue
	bytes   int64 // bytes of open jobs' bodies
	waiting int   // long-polls waiting
	stats   counters
	srv     *http.Server
	self    *registry.Registration

	loopDone chan struct{}
}

type counters struct {
	accepted, answered, lapsed, refused uint64
}

// Stats are a hub's figures.
type Stats struct {
	Queued   int    `json:"queued"`   // jobs waiting for a worker
	Leased   int    `json:"leased"`   // jobs held by a worker
	Waiting  int    `json:"waiting"`  // long-polls waiting for a job
	Bytes    int64  `json:"bytes"`    // bytes of open jobs' requests
	Services int    `json:"services"` // services with a queue
	Fronted  int    `json:"fronted"`  // services registered under the hub's endpoints
	Accepted uint64 `json:"accepted"` // jobs queued since start
	Answered uint64 `json:"answered"` // jobs answered by a worker
	Lapsed   uint64 `json:"lapsed"`   // leases that ran out (the job went to another worker)
	Refused  uint64 `json:"refused"`  // jobs refused because a queue or the hub was full
}

// New returns a hub. With a registry it follows the registry's descriptors until Close.
func New(cfg Config) (*Hub, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	h := &Hub{
		cfg:      cfg,
		id:       "hub-" + uuid.NewString(),
		kick:     make(chan struct{}, 1),
		closing:  make(chan struct{}),
		jobs:     make(map[string]*job),
		queues:   make(map[string]*queue),
		loopDone: make(chan struct{}),
	}
	if cfg.Cache != nil {
		h.disc = newDiscovery(cfg.Cache)
	}
	h.mux = h.routes()
	go h.registrar()
	return h, nil
}

// Handler returns the hub's HTTP API, to mount in a server of the caller's own.
func (h *Hub) Handler() http.Handler { return h.mux }

// Stats returns a snapshot of the hub's figures.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := Stats{Waiting: h.waiting, Bytes: h.bytes, Services: len(h.queues),
		Accepted: h.stats.accepted, Answered: h.stats.answered, Lapsed: h.stats.lapsed, Refused: h.stats.refused}
	for _, j := range h.jobs {
		if j.state == jobQueued {
			s.Queued++
		} else {
			s.Leased++
		}
	}
	for _, q := range h.queues {
		if q.front != nil {
			s.Fronted++
		}
	}
	return s
}

// Serve serves the HTTP API on ln until Close; with a registry the hub registers itself
// (service HubService, endpoint "pull") so that workers find it. It returns
// http.ErrServerClosed after Close.
func (h *Hub) Serve(ln net.Listener) error {
	srv := &http.Server{
		Handler:           h.mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(h.cfg.Logger.Handler(), slog.LevelDebug),
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		_ = ln.Close()
		return http.ErrServerClosed
	}
	h.srv = srv
	h.mu.Unlock()
	if h.cfg.Registry != nil {
		if err := h.registerSelf(ln.Addr().String()); err != nil {
			_ = ln.Close()
			return err
		}
	}
	return srv.Serve(ln)
}

// HubService is the registry service under which hubs register their pull endpoint.
const HubService = "jesus-hub"

// hubVersion is the version of the hub API the registration names.
const hubVersion = "1.0.0"

func (h *Hub) registerSelf(addr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	inst := registry.Instance{ID: h.id, Service: HubService, Version: hubVersion,
		Endpoints: map[string]string{"pull": "http+json://" + addr}, StartedAt: time.Now()}
	g, err := h.cfg.Registry.Register(ctx, inst)
	if err != nil {
		return fmt.Errorf("hub: register %s at %s: %w", HubService, addr, err)
	}
	h.mu.Lock()
	h.self = g
	h.mu.Unlock()
	return nil
}

// Close deregisters the hub and its services, fails the calls waiting for answers with
// unavailable, ends waiting polls and stops the HTTP server. Repeat-safe.
func (h *Hub) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		<-h.loopDone
		return nil
	}
	h.closed = true
	close(h.closing)
	srv, self := h.srv, h.self
	h.mu.Unlock()
	<-h.loopDone
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if self != nil {
		_ = self.Close(ctx)
	}
	var err error
	if srv != nil {
		// Calls and polls were told to stop; Shutdown waits for their replies.
		if err = srv.Shutdown(ctx); err != nil {
			_ = srv.Close()
		}
	}
	h.mu.Lock()
	for _, j := range h.jobs {
		h.dropLocked(j)
	}
	h.mu.Unlock()
	if h.disc != nil {
		h.disc.Close()
	}
	return err
}
