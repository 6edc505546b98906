package events_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/events"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/jesus/discovery"
	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/registry"
	"github.com/jesus-go/jesus/schema/registry/registrytest"
)

type Money struct {
	Amount   float64 `json:"amount"`
	Currency string  `json:"currency"`
}

type OrderCreated struct {
	OrderID    string `json:"orderId"`
	CustomerID string `json:"customerId"`
	Total      Money  `json:"total"`
	At         string `json:"at"`
}

type LogRecord struct {
	Level   string         `json:"level"`
	Msg     string         `json:"msg"`
	At      string         `json:"at"`
	Service string         `json:"service,omitempty"`
	Attrs   map[string]any `json:"attrs,omitempty"`
}

func order(i int) OrderCreated {
	return OrderCreated{OrderID: fmt.Sprintf("o-%d", i), CustomerID: "c-1", Total: Money{Amount: 19.99, Currency: "EUR"}, At: time.Now().UTC().Format(time.RFC3339)}
}

func logRecord(i int) LogRecord {
	return LogRecord{Level: "info", Msg: fmt.Sprintf("line %d", i), At: "2026-01-02T03:04:05Z", Service: "orders"}
}

// leakCheck fails the test on goroutines left running after it.
var leakCheck = channeltest.CheckLeaks

func ctxT(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// waitFor waits until cond holds: registry caches and counters have nothing to wait on.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	channeltest.Eventually(t, 20*time.Second, what, cond)
}

func loadSchemas(t testing.TB, extra ...string) *schema.Set {
	t.Helper()
	set, err := schema.LoadDir(filepath.Join("..", "schemas"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		if err := set.Add(extra[i], []byte(extra[i+1])); err != nil {
			t.Fatalf("add %s: %v", extra[i], err)
		}
	}
	return set
}

func startRegistry(t testing.TB) (*registry.Registry, *registry.Cache) {
	_, reg, cache := registrytest.Start(t, 5*time.Second)
	return reg, cache
}

// publishOnly publishes the descriptor of service with no instance running, and waits
// until the cache has it.
func publishOnly(t testing.TB, set *schema.Set, reg *registry.Registry, cache *registry.Cache, service string) {
	t.Helper()
	d := set.Service(service)
	doc, err := d.Bundle()
	must(t, err)
	must(t, reg.PublishDescriptor(ctxT(t), service, d.Version, doc))
	waitFor(t, service+"'s descriptor", func() bool { _, _, ok := cache.Latest(service); return ok })
}

// seen records, per service, how many times each event id reached a handler.
type seen struct {
	mu     sync.Mutex
	n      map[string]map[string]int // service -> id -> runs
	corrid map[string]string         // id -> corrid seen
}

func (s *seen) add(svc string, id, corrid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == nil {
		s.n, s.corrid = map[string]map[string]int{}, map[string]string{}
	}
	if s.n[svc] == nil {
		s.n[svc] = map[string]int{}
	}
	s.n[svc][id]++
	s.corrid[id] = corrid
}

func (s *seen) count(svc string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.n[svc])
}

// twice lists the ids a service handled more than once.
func (s *seen) twice(svc string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for id, n := range s.n[svc] {
		if n > 1 {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

func (s *seen) runs(svc, id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n[svc][id]
}

// node is one running instance of a service: its server and bus.
type node struct {
	srv *jesus.Server
	bus *events.Bus
}

// startNode starts an instance of service svc: a server validating its methods and the
// payloads of its listens, a bus, handlers registered by setup, every channel of its
// descriptor on loopback (through ListenDescriptor, so stub handlers serve its methods).
// With deregister=false the registration outlives Close, as with a process that dies.
func startNode(t testing.TB, set *schema.Set, reg *registry.Registry, cache *registry.Cache, svc string, deregister bool, setup func(*events.Bus)) *node {
	t.Helper()
	var eps func(map[string]string) map[string]string
	if !deregister {
		eps = func(m map[string]string) map[string]string { return m }
	}
	return startNodeVia(t, set, reg, cache, svc, eps, setup)
}

// startNodeVia is startNode with the endpoints registered rewritten by eps (nil: register
// the server's own, deregistered by Close).
func startNodeVia(t testing.TB, set *schema.Set, reg *registry.Registry, cache *registry.Cache, svc string, eps func(map[string]string) map[string]string, setup func(*events.Bus)) *node {
	t.Helper()
	d := set.Service(svc)
	if d == nil {
		t.Fatalf("no descriptor of %s", svc)
	}
	srv := jesus.NewServer(svc, jesus.WithValidation(jesus.ServiceSchemas(set, d.Service, d.Version)))
	bus, err := events.New(d, set, newDisc(t, cache), nil, srv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bus.Close() })
	stubMethods(srv, d)
	if setup != nil {
		setup(bus)
	}
	ctx := ctxT(t)
	if err := srv.ListenDescriptor(ctx, d, jesus.LoopbackAddrs(t.TempDir())); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	if eps == nil {
		if _, err := discovery.Register(ctx, srv, reg, d); err != nil {
			t.Fatal(err)
		}
		return &node{srv, bus}
	}
	register(t, reg, d, eps(srv.Endpoints()))
	return &node{srv, bus}
}

// register publishes d and registers an instance with the given endpoints; it is
// deregistered when the test ends.
func register(t testing.TB, reg *registry.Registry, d *schema.Descriptor, eps map[string]string) {
	t.Helper()
	ctx := ctxT(t)
	doc, err := d.Bundle()
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.PublishDescriptor(ctx, d.Service, d.Version, doc); err != nil {
		t.Fatal(err)
	}
	inst := registry.Instance{ID: uuid.NewString(), Service: d.Service, Version: d.Version, Endpoints: eps, StartedAt: time.Now()}
	g, err := reg.Register(ctx, inst)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close(context.Background()) })
}

// stubMethods serves every method d declares with a handler that does nothing, so that
// ListenDescriptor's check passes; the tests are about events.
func stubMethods(srv *jesus.Server, d *schema.Descriptor) {
	for name, m := range d.Methods {
		switch m.Mode {
		case jesus.ModeResponse:
			jesus.Handle(srv, name, func(context.Context, any) (any, error) { return nil, jesus.NewError(jesus.CodeUnimplemented, "stub") })
		case jesus.ModeStream:
			jesus.HandleStream(srv, name, func(context.Context, any, func(any) error) error { return nil })
		default:
			jesus.HandleOneWay(srv, name, func(context.Context, any) error { return nil })
		}
	}
}

// emitter returns a bus of service svc that only emits.
// twoBillings starts a registry and two billing listeners that record what they run in
// s: victim, which the test kills (it does not deregister, so its registration lingers
// until its lease expires), and one that stays.
func twoBillings(t testing.TB, s *seen) (set *schema.Set, reg *registry.Registry, cache *registry.Cache, victim *node) {
	set = loadSchemas(t)
	reg, cache = startRegistry(t)
	victim = startNode(t, set, reg, cache, "billing", false, handlerOf(s, "billing"))
	startNode(t, set, reg, cache, "billing", true, handlerOf(s, "billing"))
	return set, reg, cache, victim
}

func emitter(t testing.TB, set *schema.Set, cache *registry.Cache, svc string, opts ...events.Option) *events.Bus {
	t.Helper()
	b, err := events.New(set.Service(svc), set, newDisc(t, cache), nil, nil, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// testLogger logs to t (shown with -v or when t fails), debug level included. The bus
// that logs to it must close before t ends.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// newDisc follows cache until the test ends.
func newDisc(t testing.TB, cache *registry.Cache) *discovery.Discovery {
	d := discovery.New(cache)
	t.Cleanup(d.Close)
	return d
}
