package jesus

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/registry"
)

// ListenChannel is Listen for a channel with a name from the service's descriptor; the
// name is what Register publishes the endpoint under.
func (s *Server) ListenChannel(ctx context.Context, name, spec string) (channel.Spec, error) {
	sp, err := s.Listen(ctx, spec)
	if err != nil {
		return sp, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.listeners {
		if l.spec == sp {
			l.name = name
		}
	}
	return sp, nil
}

// Endpoints returns the named channels the server listens on: name -> "spec://addr".
func (s *Server) Endpoints() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.listeners))
	for _, l := range s.listeners {
		if l.name != "" {
			out[l.name] = l.spec.String()
		}
	}
	return out
}

// LoopbackAddrs places every channel on 127.0.0.1 with a free port, and unix sockets in dir.
func LoopbackAddrs(dir string) func(name string, sp channel.Spec) string {
	return func(name string, sp channel.Spec) string {
		if sp.Transport == "unix" {
			return filepath.Join(dir, name+".sock")
		}
		return "127.0.0.1:0"
	}
}

// CheckDescriptor reports every difference between the handlers registered on s and the
// methods d declares: a declared method without a handler, a handler for an undeclared
// method, or a handler whose mode differs from the declared one. Handlers named
// "<service>.event:<event>" are event listeners and are not methods: they are ignored.
func (s *Server) CheckDescriptor(d *schema.Descriptor) error {
	methods := *s.methods.Load()
	var problems []string
	for name, m := range d.Methods {
		wire := d.WireMethod(name)
		h := methods[wire]
		switch {
		case h == nil:
			problems = append(problems, fmt.Sprintf("%s (%s) has no handler", wire, m.Mode))
		case !h.modes[m.Mode]:
			problems = append(problems, fmt.Sprintf("%s is declared %s but its handler is %s", wire, m.Mode, h.kind))
		}
	}
	for wire := range methods {
		if strings.HasPrefix(wire, d.Service+".event:") {
			continue // event listeners (package events) follow the descriptor's listens, not its methods
		}
		name, ok := strings.CutPrefix(wire, d.Service+".")
		if _, declared := d.Methods[name]; !ok || !declared {
			problems = append(problems, fmt.Sprintf("handler %s is not declared", wire))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	sort.Strings(problems)
	return &Error{Code: CodeIncompatible, Service: d.ID(), Message: fmt.Sprintf("server %s does not match its descriptor %s: %s", s.name, d.ID(), strings.Join(problems, "; "))}
}

// ListenDescriptor checks the handlers against d, then listens on every channel d declares,
// at the address addr gives for it (see LoopbackAddrs).
func (s *Server) ListenDescriptor(ctx context.Context, d *schema.Descriptor, addr func(name string, sp channel.Spec) string) error {
	if err := s.CheckDescriptor(d); err != nil {
		return err
	}
	s.SetDescriptor(d)
	names := make([]string, 0, len(d.Channels))
	for n := range d.Channels {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		sp, err := channel.ParseSpec(d.Channels[n].Spec())
		if err != nil {
			return Errorf(CodeInvalidArgument, "%s channel %s: %v", d.ID(), n, err)
		}
		sp.Addr = addr(n, sp)
		if _, err := s.ListenChannel(ctx, n, sp.String()); err != nil {
			return err
		}
	}
	return nil
}

// Register publishes d (bundled, self-contained) to the registry and registers this
// server's named channels as a live instance under a lease. Shutdown and Close deregister
// it first, so callers stop picking it before it drains.
func (s *Server) Register(ctx context.Context, reg *registry.Registry, d *schema.Descriptor) (*registry.Registration, error) {
	doc, err := d.Bundle()
	if err != nil {
		return nil, Errorf(CodeInvalidArgument, "bundle %s: %w", d.ID(), err)
	}
	if err := reg.PublishDescriptor(ctx, d.Service, d.Version, doc); err != nil {
		code := CodeUnavailable
		if errors.Is(err, registry.ErrVersionExists) {
			code = CodeAlreadyExists
		}
		return nil, Errorf(code, "publish %s: %w", d.ID(), err)
	}
	eps := s.Endpoints()
	if len(eps) == 0 {
		return nil, Errorf(CodeFailedPrecondition, "%s listens on no named channel; use ListenChannel or ListenDescriptor first", s.name)
	}
	s.SetDescriptor(d)
	inst := registry.Instance{ID: s.ID(), Service: d.Service, Version: d.Version, Endpoints: eps, StartedAt: time.Now()}
	g, err := reg.Register(ctx, inst)
	if err != nil {
		return nil, Errorf(CodeUnavailable, "register %s: %w", d.ID(), err)
	}
	s.OnShutdown(g.Close)
	return g, nil
}

// Discovery resolves methods to live instances through the registry's watch-fed cache
// (no etcd round trip per call), round robin, skipping for a moment an endpoint whose
// connection failed. It also validates requests against the receivers' descriptors
// (latest version of each service) and keeps its schemas current as versions appear.
type Discovery struct {
	cache *registry.Cache
	hold  time.Duration // how long a failed endpoint is skipped

	mu     sync.Mutex
	set    *schema.Set
	valid  atomic.Pointer[schemaValidation]
	bad    sync.Map // endpoint -> time.Time until which it is skipped
	routes sync.Map // endpoint -> parsed Route (without Instance)

	stop func()
	done chan struct{}
}

// NewDiscovery follows cache until Close.
func NewDiscovery(cache *registry.Cache) *Discovery {
	d := &Discovery{cache: cache, hold: 2 * time.Second, set: schema.NewSet(), done: make(chan struct{})}
	changes, stop := cache.Subscribe()
	d.stop = stop
	d.refresh()
	go func() {
		defer close(d.done)
		for range changes {
			d.refresh()
		}
	}()
	return d
}

// Close stops following the cache (the cache itself is the caller's).
func (d *Discovery) Close() {
	d.stop()
	<-d.done
}

// refresh adds descriptors the set does not have yet and renews the validator cache.
func (d *Discovery) refresh() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, svc := range d.cache.Services() {
		for _, v := range d.cache.Versions(svc) {
			if d.set.Get(svc, v) != nil {
				continue
			}
			if doc, ok := d.cache.Descriptor(svc, v); ok {
				_ = d.set.Add(svc+"@"+v+".json", doc) // a bad descriptor just has no schema here
			}
		}
	}
	set := d.set
	d.valid.Store(&schemaValidation{set: set, resolve: func(svc string) (string, string, bool) {
		if x := set.Service(svc); x != nil {
			return x.Service, x.Version, true
		}
		return "", "", false
	}})
}

// Schemas returns the descriptors known so far.
func (d *Discovery) Schemas() *schema.Set {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.set
}

// RequestValidator implements Validation.
func (d *Discovery) RequestValidator(method string) Validator {
	return d.valid.Load().RequestValidator(method)
}

// ResponseValidator implements Validation.
func (d *Discovery) ResponseValidator(method string) Validator {
	return d.valid.Load().ResponseValidator(method)
}

// Resolve implements Resolver: the method's channel comes from the receiver's latest
// descriptor, the instance from a round-robin pick among those offering that channel.
func (d *Discovery) Resolve(ctx context.Context, method string) (Route, error) {
	svc, name, ok := strings.Cut(method, ".")
	if !ok {
		return Route{}, Errorf(CodeInvalidArgument, "method %q is not service.method", method)
	}
	desc := d.Schemas().Service(svc)
	if desc == nil {
		return Route{}, Errorf(CodeUnavailable, "no descriptor of service %s in the registry", svc)
	}
	m, ok := desc.Methods[name]
	if !ok {
		return Route{}, Errorf(CodeUnimplemented, "%s declares no method %s", desc.ID(), name)
	}
	return d.pick(svc, m.Channel)
}

// Route picks a live instance of svc offering the named channel.
func (d *Discovery) pick(svc, chName string) (Route, error) {
	now := time.Now()
	inst, err := d.cache.Pick(svc, chName, func(in registry.Instance) bool {
		ep, _ := in.Endpoint(chName)
		until, bad := d.bad.Load(ep)
		return bad && now.Before(until.(time.Time))
	})
	if err != nil {
		return Route{}, Errorf(CodeUnavailable, "%v", err)
	}
	ep, _ := inst.Endpoint(chName)
	if r, ok := d.routes.Load(ep); ok {
		route := r.(Route)
		route.Instance = inst.ID
		return route, nil
	}
	sp, err := channel.ParseSpec(ep)
	if err != nil {
		return Route{}, Errorf(CodeInternal, "instance %s of %s: endpoint %q: %v", inst.ID, svc, ep, err)
	}
	route := Route{Spec: sp, name: sp.Name()}
	d.routes.Store(ep, route)
	route.Instance = inst.ID
	return route, nil
}

// RouteChannel resolves a route to a live instance of svc on the channel named chName.
func (d *Discovery) RouteChannel(svc, chName string) (Route, error) { return d.pick(svc, chName) }

// OnChannel returns a resolver that sends every call to the channel named chName of the
// receiver, instead of the channel its descriptor gives the method (e.g. to call an http
// method over the service's tcp channel).
func (d *Discovery) OnChannel(chName string) Resolver { return namedChannel{d, chName} }

type namedChannel struct {
	d    *Discovery
	name string
}

func (r namedChannel) Resolve(_ context.Context, method string) (Route, error) {
	svc, _, _ := strings.Cut(method, ".")
	return r.d.pick(svc, r.name)
}

func (r namedChannel) Failed(rt Route, err error) { r.d.Failed(rt, err) }

// Failed implements FailureReporter: the endpoint is skipped for a short while.
func (d *Discovery) Failed(r Route, err error) {
	d.bad.Store(r.Spec.String(), time.Now().Add(d.hold))
}

// notSent reports whether err proves the request never left (a failed dial), so that it
// may be retried on another instance without risking a duplicate.
func notSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
