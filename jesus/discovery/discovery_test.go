package discovery_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jesus-go/jesus/jesus/discovery"
	"github.com/jesus-go/jesus/schema/registry/registrytest"

	"github.com/google/uuid"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/registry"
)

type ChargeRequest struct {
	OrderID    string `json:"orderId"`
	CustomerID string `json:"customerId"`
	Amount     Money  `json:"amount"`
}

type ChargeResponse struct {
	ChargeID string `json:"chargeId"`
	Status   string `json:"status"`
}

func startRegistry(t *testing.T) (*registry.Registry, *registry.Cache) {
	_, reg, cache := registrytest.Start(t, 2*time.Second)
	return reg, cache
}

// billingInstance starts one billing server on every channel of its descriptor; calls
// counts the charges it served. register=false registers the instance without tying
// deregistration to Shutdown/Close, as a process that dies would leave it.
func billingInstance(t *testing.T, set *schema.Set, reg *registry.Registry, name string, calls *counts, register bool) *jesus.Server {
	t.Helper()
	d := set.Service("billing")
	s := jesus.NewServer("billing", jesus.WithValidation(jesus.ServiceSchemas(set, d.Service, d.Version)))
	jesus.Handle(s, "charge", func(ctx context.Context, r ChargeRequest) (ChargeResponse, error) {
		calls.add(name)
		return ChargeResponse{ChargeID: "ch-" + r.OrderID, Status: "accepted"}, nil
	})
	ctx := ctxT(t)
	if err := s.ListenDescriptor(ctx, d, jesus.LoopbackAddrs(t.TempDir())); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if register {
		if _, err := discovery.Register(ctx, s, reg, d); err != nil {
			t.Fatal(err)
		}
		return s
	}
	doc, _ := d.Bundle()
	if err := reg.PublishDescriptor(ctx, d.Service, d.Version, doc); err != nil {
		t.Fatal(err)
	}
	inst := registry.Instance{ID: uuid.NewString(), Service: "billing", Version: d.Version, Endpoints: s.Endpoints(), StartedAt: time.Now()}
	g, err := reg.Register(ctx, inst)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close(context.Background()) })
	return s
}

// billingPair starts a registry and two billing instances, first (registered as
// registerFirst says, see billingInstance) and second, and waits until the caller's cache
// lists both. calls counts what each served.
func billingPair(t *testing.T, first, second string, registerFirst bool) (a *jesus.Server, cache *registry.Cache, calls *counts) {
	t.Helper()
	set := loadSchemas(t)
	reg, cache := startRegistry(t)
	calls = new(counts)
	a = billingInstance(t, set, reg, first, calls, registerFirst)
	billingInstance(t, set, reg, second, calls, true)
	waitFor(t, "two billing instances", func() bool { return len(cache.Instances("billing")) == 2 })
	return a, cache, calls
}

// counts counts calls per instance name.
type counts struct {
	mu sync.Mutex
	n  map[string]int64
}

func (c *counts) add(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int64{}
	}
	c.n[name]++
}

func (c *counts) get(name string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[name]
}

func TestDiscoveryBalancesAndFailsOver(t *testing.T) {
	leakCheck(t)
	a, cache, calls := billingPair(t, "a", "b", true)
	c := ordersClient(t, cache, func(d *discovery.Discovery) jesus.Option { return jesus.WithValidation(d) })
	ctx := ctxT(t)
	req := ChargeRequest{OrderID: "o-1", CustomerID: "c-1", Amount: Money{Amount: 19.99, Currency: "EUR"}}
	for i := 0; i < 40; i++ {
		if _, err := jesus.Call[ChargeRequest, ChargeResponse](ctx, c, "billing.charge", req); err != nil {
			t.Fatal(err)
		}
	}
	if na, nb := calls.get("a"), calls.get("b"); na < 10 || nb < 10 {
		t.Fatalf("load not shared: a=%d b=%d", na, nb)
	}
	// validation through the registry's descriptor, before sending
	if _, err := jesus.Call[ChargeRequest, ChargeResponse](ctx, c, "billing.charge", ChargeRequest{OrderID: "o 1"}); jesus.CodeOf(err) != jesus.CodeInvalidArgument {
		t.Fatalf("want invalid_argument from the registry's schema, got %v", err)
	}

	// Graceful shutdown deregisters before draining: callers stop picking it at once.
	start := time.Now()
	if err := a.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	gone := waitFor(t, "a to leave the cache", func() bool { return len(cache.Instances("billing")) == 1 })
	t.Logf("graceful shutdown: instance gone from the caller's cache %v after Shutdown began (%v after it returned)", time.Since(start), gone)
	before := calls.get("b")
	for i := 0; i < 10; i++ {
		if _, err := jesus.Call[ChargeRequest, ChargeResponse](ctx, c, "billing.charge", req); err != nil {
			t.Fatalf("after a's shutdown: %v", err)
		}
	}
	if got := calls.get("b") - before; got != 10 {
		t.Fatalf("b served %d of 10", got)
	}
}

// TestDiscoverySkipsDeadInstance: an instance that died without deregistering stays in the
// registry until its lease expires; meanwhile requests that cannot reach it are retried on
// another instance, so callers see no error.
func TestDiscoverySkipsDeadInstance(t *testing.T) {
	leakCheck(t)
	dead, cache, calls := billingPair(t, "dead", "live", false)
	dead.Close() // listeners gone, registration left behind
	c := ordersClient(t, cache)
	ctx := ctxT(t)
	req := ChargeRequest{OrderID: "o-1", CustomerID: "c-1", Amount: Money{Amount: 1, Currency: "EUR"}}
	for i := 0; i < 20; i++ {
		if _, err := jesus.Call[ChargeRequest, ChargeResponse](ctx, c, "billing.charge", req); err != nil {
			t.Fatalf("call %d with a dead instance registered: %v", i, err)
		}
	}
	if n := calls.get("live"); n != 20 {
		t.Fatalf("live served %d of 20", n)
	}
	if len(cache.Instances("billing")) != 2 {
		t.Fatal("dead instance left the registry before its lease expired; the test proves nothing")
	}
}

// TestPickWhileAnInstanceComesAndGoes: an instance that registers or leaves while a Pick
// runs makes it either pick that instance or say there is no live instance (unavailable,
// which an emitter's outbox retries). It never makes it say that the live instances
// offer no such endpoint (incompatible, which is final): every instance here offers one.
// Live instances that do not offer the endpoint still make it incompatible.
func TestPickWhileAnInstanceComesAndGoes(t *testing.T) {
	leakCheck(t)
	reg, cache := startRegistry(t)
	disc := discovery.New(cache)
	t.Cleanup(disc.Close)
	ctx := ctxT(t)
	want := discovery.Want{Channel: "domain", Transport: "http", Codec: "json"}
	inst := registry.Instance{Service: "billing", Version: "1.0.0",
		Endpoints: map[string]string{"domain": "http+json+gzip://127.0.0.1:9"}}

	type tally struct {
		picks, none, wrong int
		first              error // the first wrong error
	}
	stop := make(chan struct{})
	result := make(chan tally, 1)
	go func() {
		var n tally
		defer func() { result <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			_, err := disc.Pick("billing", want)
			switch {
			case err == nil:
				n.picks++
			case errors.Is(err, discovery.ErrNoInstance) && jesus.CodeOf(err) == jesus.CodeUnavailable:
				n.none++
			default:
				if n.wrong++; n.first == nil {
					n.first = err
				}
			}
		}
	}()
	const cycles = 40
	for i := range cycles {
		inst.ID = fmt.Sprintf("b-%d", i)
		g, err := reg.Register(ctx, inst)
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the instance in the cache", func() bool { return len(cache.Instances("billing")) == 1 })
		if err := g.Close(ctx); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the instance gone from the cache", func() bool { return len(cache.Instances("billing")) == 0 })
	}
	close(stop)
	n := <-result
	t.Logf("%d cycles: %d picks, %d without an instance, %d other errors", cycles, n.picks, n.none, n.wrong)
	if n.wrong > 0 {
		t.Fatalf("%d picks failed otherwise than with no live instance, the first with: %v", n.wrong, n.first)
	}
	if n.picks == 0 || n.none == 0 {
		t.Fatal("the picks did not see the instance both up and down; the test proves nothing")
	}

	inst.ID, inst.Endpoints = "rpc-only", map[string]string{"rpc": "tcp+msgpack://127.0.0.1:9"}
	g, err := reg.Register(ctx, inst)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close(context.Background())
	waitFor(t, "the rpc-only instance in the cache", func() bool { return len(cache.Instances("billing")) == 1 })
	for _, w := range []discovery.Want{want, {Channel: "domain"}} {
		if _, err := disc.Pick("billing", w); jesus.CodeOf(err) != jesus.CodeIncompatible || !strings.Contains(err.Error(), "none of the 1 live instances") {
			t.Errorf("pick %+v from an instance without such an endpoint: %v", w, err)
		}
	}
	if _, err := disc.Pick("billing", discovery.Want{Channel: "rpc"}); err != nil {
		t.Errorf("pick rpc: %v", err)
	}
}
