package registry_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/schema/registry"
)

func watch(t testing.TB, r *registry.Registry) *registry.Cache {
	t.Helper()
	c, err := r.Watch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func register(t testing.TB, r *registry.Registry, in registry.Instance) *registry.Registration {
	t.Helper()
	g, err := r.Register(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close(context.Background()) })
	return g
}

func hasInstance(c *registry.Cache, service, id string) bool {
	for _, in := range c.Instances(service) {
		if in.ID == id {
			return true
		}
	}
	return false
}

func TestPickerSharesLoad(t *testing.T) {
	checkGoroutines(t)
	e := startEtcd(t)
	r := open(t, e, 2*time.Second)
	c := watch(t, r)
	if _, err := c.Pick("orders", "rpc", nil); !errors.Is(err, registry.ErrNoInstance) || !strings.Contains(err.Error(), `"orders"`) {
		t.Fatalf("no instances: got %v, want ErrNoInstance naming orders", err)
	}
	register(t, r, instance("orders", "a", "127.0.0.1:4101"))
	register(t, r, instance("orders", "b", "127.0.0.1:4102"))
	channeltest.Eventually(t, 5*time.Second, "two instances in the cache", func() bool { return len(c.Instances("orders")) == 2 })

	p := c.Picker("orders")
	counts := map[string]int{}
	for range 100 {
		in, err := p.Pick("rpc", nil)
		if err != nil {
			t.Fatal(err)
		}
		counts[in.ID]++
	}
	if counts["a"] != 50 || counts["b"] != 50 {
		t.Fatalf("round robin: got %v, want 50/50", counts)
	}
	// A caller whose connection to a failed skips it and gets b.
	for range 10 {
		in, err := p.Pick("rpc", func(in registry.Instance) bool { return in.ID == "a" })
		if err != nil || in.ID != "b" {
			t.Fatalf("skip a: got %v, %v", in.ID, err)
		}
	}
	_, err := p.Pick("rpc", func(registry.Instance) bool { return true })
	if !errors.Is(err, registry.ErrNoInstance) || !strings.Contains(err.Error(), "2 skipped") {
		t.Fatalf("all skipped: got %v", err)
	}
	_, err = p.Pick("domain", nil)
	if !errors.Is(err, registry.ErrNoInstance) || !strings.Contains(err.Error(), `channel "domain"`) {
		t.Fatalf("missing channel: got %v", err)
	}
}

func TestKilledInstanceDisappearsWithinTTL(t *testing.T) {
	checkGoroutines(t)
	const ttl = 2 * time.Second
	e := startEtcd(t)
	r := open(t, e, ttl)
	c := watch(t, r)
	register(t, r, instance("orders", "keep", "127.0.0.1:4101"))

	// The victim has its own etcd connection; closing the registry stops its
	// keep-alive without revoking the lease, as a crashed process would.
	victim := open(t, e, ttl)
	register(t, victim, instance("orders", "victim", "127.0.0.1:4102"))
	channeltest.Eventually(t, 5*time.Second, "victim in the cache", func() bool { return hasInstance(c, "orders", "victim") })

	victim.Close()
	killed := time.Now()
	channeltest.Eventually(t, ttl+2*time.Second, "victim gone from the cache", func() bool { return !hasInstance(c, "orders", "victim") })
	gone := time.Since(killed)
	t.Logf("MEASURE killed instance (TTL %s) no longer picked after %s", ttl, gone.Round(time.Millisecond))
	if gone > ttl+time.Second {
		t.Fatalf("killed instance stayed %s, want at most TTL + 1s = %s", gone, ttl+time.Second)
	}
	for range 10 {
		in, err := c.Pick("orders", "rpc", nil)
		if err != nil || in.ID != "keep" {
			t.Fatalf("after death: picked %q, %v", in.ID, err)
		}
	}
}

func TestGracefulCloseRemovesAtOnce(t *testing.T) {
	checkGoroutines(t)
	e := startEtcd(t)
	r := open(t, e, 5*time.Second)
	c := watch(t, r)
	g := register(t, r, instance("orders", "a", "127.0.0.1:4101"))
	channeltest.Eventually(t, 5*time.Second, "instance in the cache", func() bool { return hasInstance(c, "orders", "a") })
	start := time.Now()
	if err := g.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	channeltest.Eventually(t, time.Second, "instance gone", func() bool { return !hasInstance(c, "orders", "a") })
	took := time.Since(start)
	t.Logf("MEASURE graceful Close to instance gone from the cache: %s (TTL 5s)", took.Round(time.Microsecond))
	if g.Registered() {
		t.Fatal("Registered after Close")
	}
	if err := g.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := c.Pick("orders", "", nil); !errors.Is(err, registry.ErrNoInstance) {
		t.Fatalf("pick after Close: %v", err)
	}
}

func TestCacheReadsAndSubscribe(t *testing.T) {
	checkGoroutines(t)
	e := startEtcd(t)
	r := open(t, e, 2*time.Second)
	ctx := context.Background()
	if err := r.PublishDescriptor(ctx, "orders", "1.0.0", descriptor("orders", "1.0.0", "")); err != nil {
		t.Fatal(err)
	}
	c := watch(t, r)
	changes, cancel := c.Subscribe()
	defer cancel()
	if v, _, ok := c.Latest("orders"); !ok || v != "1.0.0" {
		t.Fatalf("Latest from the first list: %q %v", v, ok)
	}
	if err := r.PublishDescriptor(ctx, "orders", "1.10.0", descriptor("orders", "1.10.0", "")); err != nil {
		t.Fatal(err)
	}
	if err := r.PublishDescriptor(ctx, "orders", "1.9.0", descriptor("orders", "1.9.0", "")); err != nil {
		t.Fatal(err)
	}
	g := register(t, r, instance("billing", "b1", "127.0.0.1:4200"))
	var got []string
	want := []string{"descriptor-added orders 1.10.0 ", "descriptor-added orders 1.9.0 ", "instance-up billing 1.0.0 b1", "instance-down billing 1.0.0 b1"}
	next := func() {
		select {
		case ch := <-changes:
			got = append(got, fmt.Sprint(ch.Kind, " ", ch.Service, " ", ch.Version, " ", ch.Instance))
		case <-time.After(5 * time.Second):
			t.Fatalf("no change; got so far %q", got)
		}
	}
	for range 3 {
		next()
	}
	if err := g.Close(ctx); err != nil {
		t.Fatal(err)
	}
	next()
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("changes:\n got %q\nwant %q", got, want)
	}
	v, doc, ok := c.Latest("orders")
	if !ok || v != "1.10.0" || !strings.Contains(string(doc), `"1.10.0"`) {
		t.Fatalf("Latest: %q %s %v", v, doc, ok)
	}
	if vs := c.Versions("orders"); strings.Join(vs, " ") != "1.0.0 1.9.0 1.10.0" {
		t.Fatalf("Versions: %v", vs)
	}
	if s := c.Services(); strings.Join(s, " ") != "orders" {
		t.Fatalf("Services: %v", s)
	}
	if _, ok := c.Descriptor("orders", "2.0.0"); ok {
		t.Fatal("unknown version found")
	}
	// Records that do not parse never reach readers.
	cli := r.Client()
	if _, err := cli.Put(ctx, "/jesus/services/evil/instances/x", `{"id":"y","service":"evil","version":"1.0.0"}`); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, "/jesus/services/evil/instances/z", `not json`); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, "/jesus/services/evil/versions/1.0.0", `{"truncated":`); err != nil {
		t.Fatal(err)
	}
	if err := r.PublishDescriptor(ctx, "marker", "1.0.0", descriptor("marker", "1.0.0", "")); err != nil {
		t.Fatal(err)
	}
	channeltest.Eventually(t, 5*time.Second, "marker", func() bool { _, ok := c.Descriptor("marker", "1.0.0"); return ok })
	if n := len(c.Instances("evil")); n != 0 {
		t.Fatalf("bad instance records cached: %d", n)
	}
	if _, ok := c.Descriptor("evil", "1.0.0"); ok {
		t.Fatal("bad descriptor cached")
	}
	cancel()
	cancel()
}

func TestSlowSubscriberGetsResync(t *testing.T) {
	checkGoroutines(t)
	e := startEtcd(t)
	r := open(t, e, 2*time.Second)
	c := watch(t, r)
	changes, cancel := c.Subscribe()
	defer cancel()
	ctx := context.Background()
	const n = 100 // more than a subscriber's queue
	for i := range n {
		v := fmt.Sprintf("1.0.%d", i)
		if err := r.PublishDescriptor(ctx, "many", v, descriptor("many", v, "")); err != nil {
			t.Fatal(err)
		}
	}
	channeltest.Eventually(t, 5*time.Second, "all versions cached", func() bool { return len(c.Versions("many")) == n })
	// One more change after the overflow lets the Resync through.
	channeltest.Eventually(t, 5*time.Second, "queue full", func() bool { return len(changes) == cap(changes) })
	for len(changes) > 0 {
		<-changes
	}
	if err := r.PublishDescriptor(ctx, "many", "2.0.0", descriptor("many", "2.0.0", "")); err != nil {
		t.Fatal(err)
	}
	select {
	case ch := <-changes:
		if ch.Kind != registry.Resync {
			t.Fatalf("after overflow got %v, want resync", ch.Kind)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no resync")
	}
}

func TestCloseIsRepeatSafeAndStopsAll(t *testing.T) {
	checkGoroutines(t)
	e := startEtcd(t)
	r := open(t, e, 2*time.Second)
	for range 5 {
		c := watch(t, r)
		g := register(t, r, instance("loop", "a", "127.0.0.1:1"))
		ch, _ := c.Subscribe()
		if err := g.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		c.Close()
		c.Close()
		// Queued changes may come first, then the channel must be closed.
		timeout := time.After(time.Second)
	drain:
		for {
			select {
			case _, ok := <-ch:
				if !ok {
					break drain
				}
			case <-timeout:
				t.Fatal("subscriber channel open after Close")
			}
		}
	}
	c := watch(t, r)
	register(t, r, instance("loop", "b", "127.0.0.1:1"))
	r.Close()
	r.Close()
	if _, err := r.Watch(context.Background()); err == nil {
		t.Fatal("Watch on closed registry")
	}
	_ = c.Instances("loop") // still readable
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
}
