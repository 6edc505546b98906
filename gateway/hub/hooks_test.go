package hub_test

import (
	"context"
	"testing"
	"time"

	"github.com/jesus-go/jesus/gateway/async"
	"github.com/jesus-go/jesus/gateway/hub"
	"github.com/jesus-go/jesus/gateway/internal/gatewaytest"
	"github.com/jesus-go/jesus/jesus"
)

// A request with a response hook passes through a hub to a Go worker, which answers the
// hook later: the hook travels in the job's meta.
func TestHookThroughHub(t *testing.T) {
	reg, cache, _ := registryWith(t)
	h, _ := startHub(t, hub.Config{Registry: reg, Cache: cache})
	ctx := testCtx(t)

	responder := async.NewResponder(async.ResponderConfig{})
	t.Cleanup(func() { responder.Shutdown(ctx) })
	hw := &hub.Worker{Service: "doubler", Cache: cache, Pollers: 2, Wait: 2 * time.Second}
	w := jesus.NewServer("doubler")
	async.Handle(w, "double", responder, func(ctx context.Context, req struct {
		N int `json:"n"`
	}) (int, error) {
		return 2 * req.N, nil
	})
	jesus.HandleOneWay(w, "never", func(ctx context.Context, req map[string]any) error { return nil })
	if _, err := w.ListenVia(ctx, hw, "json", "registry"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })

	tr := gatewaytest.HookTracker(t)

	disc := discovery(t, cache)
	c := jesus.NewClient("caller", jesus.WithResolver(disc), jesus.WithInterceptors(async.Interceptor()))
	t.Cleanup(func() { c.Close() })
	eventually(t, "doubler fronted by the hub", func() bool { return h.Stats().Fronted == 1 && len(cache.Instances("doubler")) == 1 })

	answers := make(chan *async.Answer, 1)
	on := func(ctx context.Context, a *async.Answer, tracked bool) { answers <- a }
	id, err := tr.Send(ctx, c, "doubler.double", map[string]int{"n": 21}, async.Request{OnSuccess: on, OnError: on, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	a := <-answers
	var n int
	if a.ID != id || a.Decode(&n) != nil || n != 42 {
		t.Fatalf("answer %+v %s", a, a.Result)
	}
	if err := tr.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}
