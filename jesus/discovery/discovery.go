package discovery

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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
	s.SetDescriptor(d)
	inst := registry.Instance{ID: s.ID(), Service: d.Service, Version: d.Version, Endpoints: eps, StartedAt: time.Now(), SealKey: s.SealKey()}
	g, err := reg.Register(ctx, inst)
	if err != nil {
		return nil, jesus.Errorf(jesus.CodeUnavailable, "register %s: %w", d.ID(), err)
	}
	s.OnShutdown(g.Close)
	return g, nil
}

// Discovery resolves methods to live instances through the registry's watch-fed cache
// (no etcd round trip per call) and validates requests and replies against the
// receivers' descriptors (latest version of each service), kept current as versions
// appear. It is the one route picker of the project: calls (Resolve) and events (Pick)
// share its round robin and its memory of endpoints that failed. Safe for concurrent use.
type Discovery struct {
	cache *registry.Cache
	hold  time.Duration // how long a failed endpoint is skipped

	mu    sync.Mutex
	set   *schema.Set
	rev   atomic.Int64  // the cache revision the set and listeners were built at
	gen   atomic.Uint64 // bumped by every refresh
	valid atomic.Pointer[validation]
	lists atomic.Pointer[map[string][]string] // event -> services whose latest descriptor listens to it

	bad      sync.Map // endpoint key -> time.Time until which it is skipped
	badMarks atomic.Uint64
	routes   sync.Map // routeKey -> jesus.Route without its instance
	routesN  atomic.Int64

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

// Cache is the registry cache d follows.
func (d *Discovery) Cache() *registry.Cache { return d.cache }

// refresh adds the descriptors the set does not have yet (each parsed and compiled once,
// for validation, routing and events alike) and renews what is derived from them.
func (d *Discovery) refresh() {
	d.mu.Lock()
	defer d.mu.Unlock()
	rev := d.cache.Revision()
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
	lists := map[string][]string{}
	for _, svc := range d.cache.Services() {
		if desc := d.set.Service(svc); desc != nil {
			for ev := range desc.Listens {
				lists[ev] = append(lists[ev], svc)
			}
		}
	}
	for _, l := range lists {
		sort.Strings(l)
	}
	d.lists.Store(&lists)
	d.valid.Store(&validation{jesus.ReceiverSchemas(d.set)})
	d.rev.Store(rev)
	d.gen.Add(1)
}

// current brings d up to the cache's revision at once, so that a caller that saw the
// cache move (a new listener, a new version) does not wait for the background refresh.
func (d *Discovery) current() {
	if d.cache.Revision() != d.rev.Load() {
		d.refresh()
	}
}

// Schemas returns the descriptors known so far.
func (d *Discovery) Schemas() *schema.Set {
	d.current()
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.set
}

// Generation changes whenever what d knows of the registry changes (descriptors or
// instances), for callers that derive tables from it.
func (d *Discovery) Generation() uint64 {
	d.current()
	return d.gen.Load()
}

// Listeners returns the services whose latest descriptor lists event under listens,
// sorted. The slice is shared: do not change it.
func (d *Discovery) Listeners(event string) []string {
	d.current()
	return (*d.lists.Load())[event]
}

// RequestValidator implements jesus.Validation.
func (d *Discovery) RequestValidator(method string) jesus.Validator {
	return d.valid.Load().RequestValidator(method)
}

// ResponseValidator implements jesus.Validation.
func (d *Discovery) ResponseValidator(method string) jesus.Validator {
	return d.valid.Load().ResponseValidator(method)
}

// Resolve implements jesus.Resolver: the method's channel comes from the receiver's
// latest descriptor, the instance from a round-robin pick among those offering it.
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
	return d.Pick(svc, Want{Channel: m.Channel})
}

// RouteChannel resolves a route to a live instance of svc on the channel named chName.
func (d *Discovery) RouteChannel(svc, chName string) (jesus.Route, error) {
	return d.Pick(svc, Want{Channel: chName})
}

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
	return r.d.Pick(svc, Want{Channel: r.name})
}

func (r namedChannel) Failed(rt jesus.Route, err error) { r.d.Failed(rt, err) }

// validation boxes the current jesus.Validation for an atomic swap.
type validation struct{ jesus.Validation }
