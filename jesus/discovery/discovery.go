package discovery

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/registry"
)

// Register publishes d (bundled, self-contained) to the registry and registers the
// server's named channels (see jesus.Server.ListenDescriptor) as a live instance under a lease. Shutdown and Close deregister
// it first, so callers stop picking it before it drains.
func Register(ctx context.Context, s *jesus.Server, reg *registry.Registry, d *schema.Descriptor) (*registry.Registration, error) {
	doc, err := d.Bundle()
	if err != nil {
		return nil, jesus.Errorf(jesus.CodeInvalidArgument, "bundle %s: %w", d.ID(), err)
	}
	if err := reg.PublishDescriptor(ctx, d.Service, d.Version, doc); err != nil {
		code := jesus.CodeUnavailable
		if errors.Is(err, registry.ErrVersionExists) {
			code = jesus.CodeAlreadyExists
		}
		return nil, jesus.Errorf(code, "publish %s: %w", d.ID(), err)
	}
	eps := s.Endpoints()
	if len(eps) == 0 {
		return nil, jesus.Errorf(jesus.CodeFailedPrecondition, "%s listens on no named channel; use ListenChannel or ListenDescriptor first", s.Name())
	}
	inst := registry.Instance{ID: uuid.NewString(), Service: d.Service, Version: d.Version, Endpoints: eps, StartedAt: time.Now()}
	g, err := reg.Register(ctx, inst)
	if err != nil {
		return nil, jesus.Errorf(jesus.CodeUnavailable, "register %s: %w", d.ID(), err)
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
	valid  atomic.Pointer[validation]
	bad    sync.Map // endpoint -> time.Time until which it is skipped
	routes sync.Map // endpoint -> parsed jesus.Route (without Instance)

	stop func()
	done chan struct{}
}

// New follows cache until Close.
func New(cache *registry.Cache) *Discovery {
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
	d.valid.Store(&validation{jesus.ReceiverSchemas(d.set)})
}

// Schemas returns the descriptors known so far.
func (d *Discovery) Schemas() *schema.Set {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.set
}

// RequestValidator implements jesus.Validation.
func (d *Discovery) RequestValidator(method string) jesus.Validator {
	return d.valid.Load().RequestValidator(method)
}

// ResponseValidator implements jesus.Validation.
func (d *Discovery) ResponseValidator(method string) jesus.Validator {
	return d.valid.Load().ResponseValidator(method)
}

// Resolve implements jesus.Resolver: the method's channel comes from the receiver's latest
// descriptor, the instance from a round-robin pick among those offering that channel.
func (d *Discovery) Resolve(ctx context.Context, method string) (jesus.Route, error) {
	svc, name, ok := strings.Cut(method, ".")
	if !ok {
		return jesus.Route{}, jesus.Errorf(jesus.CodeInvalidArgument, "method %q is not service.method", method)
	}
	desc := d.Schemas().Service(svc)
	if desc == nil {
		return jesus.Route{}, jesus.Errorf(jesus.CodeUnavailable, "no descriptor of service %s in the registry", svc)
	}
	m, ok := desc.Methods[name]
	if !ok {
		return jesus.Route{}, jesus.Errorf(jesus.CodeUnimplemented, "%s declares no method %s", desc.ID(), name)
	}
	return d.pick(svc, m.Channel)
}

// jesus.Route picks a live instance of svc offering the named channel.
func (d *Discovery) pick(svc, chName string) (jesus.Route, error) {
	now := time.Now()
	inst, err := d.cache.Pick(svc, chName, func(in registry.Instance) bool {
		ep, _ := in.Endpoint(chName)
		until, bad := d.bad.Load(ep)
		return bad && now.Before(until.(time.Time))
	})
	if err != nil {
		return jesus.Route{}, jesus.Errorf(jesus.CodeUnavailable, "%v", err)
	}
	ep, _ := inst.Endpoint(chName)
	if r, ok := d.routes.Load(ep); ok {
		route := r.(jesus.Route)
		route.Instance = inst.ID
		return route, nil
	}
	sp, err := channel.ParseSpec(ep)
	if err != nil {
		return jesus.Route{}, jesus.Errorf(jesus.CodeInternal, "instance %s of %s: endpoint %q: %v", inst.ID, svc, ep, err)
	}
	route := jesus.NewRoute(sp, "")
	d.routes.Store(ep, route)
	route.Instance = inst.ID
	return route, nil
}

// RouteChannel resolves a route to a live instance of svc on the channel named chName.
func (d *Discovery) RouteChannel(svc, chName string) (jesus.Route, error) { return d.pick(svc, chName) }

// OnChannel returns a resolver that sends every call to the channel named chName of the
// receiver, instead of the channel its descriptor gives the method (e.g. to call an http
// method over the service's tcp channel).
func (d *Discovery) OnChannel(chName string) jesus.Resolver { return namedChannel{d, chName} }

type namedChannel struct {
	d    *Discovery
	name string
}

func (r namedChannel) Resolve(_ context.Context, method string) (jesus.Route, error) {
	svc, _, _ := strings.Cut(method, ".")
	return r.d.pick(svc, r.name)
}

func (r namedChannel) Failed(rt jesus.Route, err error) { r.d.Failed(rt, err) }

// Failed implements FailureReporter: the endpoint is skipped for a short while.
func (d *Discovery) Failed(r jesus.Route, err error) {
	d.bad.Store(r.Spec.String(), time.Now().Add(d.hold))
}

// validation boxes the current jesus.Validation for an atomic swap.
type validation struct{ jesus.Validation }
