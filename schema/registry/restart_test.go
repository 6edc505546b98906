package registry_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/schema/registry"
)

func TestEtcdRestart(t *testing.T) {
	checkGoroutines(t)
	const ttl = 2 * time.Second
	const callTimeout = time.Second
	e := startEtcd(t)
	r := open(t, e, ttl)
	ctx := context.Background()
	if err := r.PublishDescriptor(ctx, "orders", "1.0.0", descriptor("orders", "1.0.0", "")); err != nil {
		t.Fatal(err)
	}
	c := watch(t, r)
	g := register(t, r, instance("orders", "a", "127.0.0.1:4101"))
	orphan, err := r.Register(ctx, instance("orders", "orphan", "127.0.0.1:4102"))
	if err != nil {
		t.Fatal(err)
	}
	channeltest.Eventually(t, 5*time.Second, "instances cached", func() bool { return len(c.Instances("orders")) == 2 })

	start := time.Now()
	e.Stop()
	stopped := time.Now()
	t.Logf("etcd stopped in %s", stopped.Sub(start).Round(time.Millisecond))

	// Cached reads keep working while etcd is down.
	if _, ok := c.Descriptor("orders", "1.0.0"); !ok {
		t.Fatal("cached descriptor lost while etcd is down")
	}
	if in, err := c.Pick("orders", "rpc", nil); err != nil || in.ID != "a" {
		t.Fatalf("pick while etcd is down: %v %v", in.ID, err)
	}
	checkCallsWhileDown(t, r, orphan, callTimeout)

	// Down for longer than the TTL: the keep-alive gives up and the lease is lost.
	channeltest.Eventually(t, ttl+3*time.Second, "lease lost", func() bool { return !g.Registered() })
	t.Logf("lease noticed lost by %s after etcd stopped", time.Since(stopped).Round(time.Millisecond))

	restartCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	start = time.Now()
	if err := e.Restart(restartCtx); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	t.Logf("etcd restarted in %s", back.Sub(start).Round(time.Millisecond))
	channeltest.Eventually(t, 10*time.Second, "re-registration", func() bool { return g.Registered() && g.Count() == 2 })
	rereg := time.Since(back)
	t.Logf("MEASURE etcd back to instance re-registered: %s (etcd was down %s)", rereg.Round(time.Millisecond), back.Sub(stopped).Round(time.Millisecond))

	// The watch recovers: a change made after the restart reaches the cache.
	if err := r.PublishDescriptor(ctx, "orders", "2.0.0", descriptor("orders", "2.0.0", "")); err != nil {
		t.Fatal(err)
	}
	seen := channeltest.Eventually(t, 10*time.Second, "new version in the cache", func() bool { v, _, _ := c.Latest("orders"); return v == "2.0.0" })
	t.Logf("MEASURE publish after restart reached the cache in %s", seen.Round(time.Millisecond))
	// The orphan's lease survived the restart with nobody keeping it alive.
	channeltest.Eventually(t, ttl+2*time.Second, "orphan expired", func() bool { return !hasInstance(c, "orders", "orphan") })
	// The instance stays registered past the old lease's TTL (its key moved to the new lease):
	// every change the cache sees until then leaves it in place.
	changes, stop := c.Subscribe()
	defer stop()
	past := time.After(ttl + time.Second)
	for held := true; held; {
		select {
		case <-changes:
		case <-past:
			held = false
		}
		if !hasInstance(c, "orders", "a") {
			t.Fatal("re-registered instance vanished when the old lease expired")
		}
	}
	got, err := r.Client().Get(ctx, "/jesus/services/orders/instances/a")
	if err != nil || len(got.Kvs) != 1 {
		t.Fatalf("instance key after restart: %v %v", got, err)
	}
}

// checkCallsWhileDown: with etcd down, calls to it end with ErrUnavailable at their
// deadline (callTimeout, or a shorter context's), never later.
func checkCallsWhileDown(t *testing.T, r *registry.Registry, orphan *registry.Registration, callTimeout time.Duration) {
	t.Helper()
	ctx := context.Background()
	start := time.Now()
	_, err := r.Descriptor(ctx, "orders", "1.0.0")
	took := time.Since(start)
	t.Logf("MEASURE Descriptor while etcd is down failed after %s: %v", took.Round(time.Millisecond), err)
	if !errors.Is(err, registry.ErrUnavailable) || took > callTimeout+500*time.Millisecond {
		t.Fatalf("Descriptor while down: %v after %s, want ErrUnavailable within %s", err, took, callTimeout)
	}
	start = time.Now()
	err = r.PublishDescriptor(ctx, "orders", "1.1.0", descriptor("orders", "1.1.0", ""))
	if took := time.Since(start); !errors.Is(err, registry.ErrUnavailable) || took > callTimeout+500*time.Millisecond {
		t.Fatalf("Publish while down: %v after %s", err, took)
	}
	var wg sync.WaitGroup
	for name, call := range map[string]func() error{
		"Register": func() error { _, err := r.Register(ctx, instance("orders", "late", "127.0.0.1:1")); return err },
		"Watch":    func() error { _, err := r.Watch(ctx); return err },
		// Deregistering while etcd is down cannot revoke: the key expires with its lease.
		"Registration.Close": func() error { return orphan.Close(ctx) },
	} {
		wg.Go(func() {
			start := time.Now()
			err := call()
			if took := time.Since(start); !errors.Is(err, registry.ErrUnavailable) || took > callTimeout+500*time.Millisecond {
				t.Errorf("%s while down: %v after %s, want ErrUnavailable within %s", name, err, took, callTimeout)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	start = time.Now()
	_, err = r.Versions(short, "orders")
	cancel()
	if took := time.Since(start); err == nil || took > 600*time.Millisecond {
		t.Fatalf("Versions with a 100ms context while down: %v after %s", err, took)
	}
}

// TestWatchCompaction cuts the network between the cache and etcd, writes and
// compacts past the cache's revision, heals, and checks the cache converges.
func TestWatchCompaction(t *testing.T) {
	checkGoroutines(t)
	e := startEtcd(t)
	direct := open(t, e, 2*time.Second)
	ctx := context.Background()
	p := newPartition(t, e.Endpoints()[0])
	r, err := registry.Open(ctx, registry.Config{Endpoints: []string{p.endpoint()}, DialTimeout: 2 * time.Second, CallTimeout: time.Second, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	c := watch(t, r)
	gone := register(t, direct, instance("orders", "gone", "127.0.0.1:1"))
	channeltest.Eventually(t, 5*time.Second, "instance cached", func() bool { return hasInstance(c, "orders", "gone") })
	lists := c.Lists()

	p.setCut(true)
	if err := gone.Close(ctx); err != nil { // a deletion the watch misses
		t.Fatal(err)
	}
	const n = 200
	for i := range n {
		v := fmt.Sprintf("1.0.%d", i)
		if err := direct.PublishDescriptor(ctx, "orders", v, descriptor("orders", v, "")); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := direct.Client().Get(ctx, "/jesus/")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := direct.Client().Compact(ctx, resp.Header.Revision); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Descriptor("orders", "1.0.0"); ok {
		t.Fatal("cache saw writes through a cut network")
	}
	if !hasInstance(c, "orders", "gone") {
		t.Fatal("cache changed while cut off")
	}

	p.setCut(false)
	healed := time.Now()
	channeltest.Eventually(t, 10*time.Second, "cache converged", func() bool {
		return len(c.Versions("orders")) == n && !hasInstance(c, "orders", "gone")
	})
	t.Logf("MEASURE cache converged %s after the network healed (lists: %d -> %d)", time.Since(healed).Round(time.Millisecond), lists, c.Lists())
	if c.Lists() <= lists {
		t.Fatal("cache did not list again after compaction")
	}
	if c.Revision() < resp.Header.Revision {
		t.Fatalf("cache revision %d behind compaction at %d", c.Revision(), resp.Header.Revision)
	}
	// And the watch is live again.
	if err := direct.PublishDescriptor(ctx, "orders", "9.0.0", descriptor("orders", "9.0.0", "")); err != nil {
		t.Fatal(err)
	}
	channeltest.Eventually(t, 5*time.Second, "watch live", func() bool { v, _, _ := c.Latest("orders"); return v == "9.0.0" })
}
