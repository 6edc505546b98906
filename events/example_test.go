package events_test

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/jesus-go/jesus/events"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/jesus/discovery"
	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/registry"
	"github.com/jesus-go/jesus/schema/registry/embedded"
)

// Orders emits order.created; billing listens to it. The event goes over billing's
// http+json+gzip channel in ack mode, found through an embedded etcd registry.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	set, err := schema.LoadDir(filepath.Join("..", "schemas"))
	if err != nil {
		panic(err)
	}
	// etcd in a temporary directory, a registry on it and the registry's watch-fed cache.
	local, err := embedded.StartLocal(ctx, embedded.Config{}, registry.Config{})
	if err != nil {
		panic(err)
	}
	defer local.Close()
	reg, cache := local.Registry, local.Cache

	// The listener: its handlers check payloads against billing's listens before the ack.
	billing := set.Service("billing")
	srv := jesus.NewServer("billing")
	defer srv.Close()
	bus, err := events.New(billing, set, nil, nil, srv) // nil discovery and client: it only listens
	if err != nil {
		panic(err)
	}
	defer bus.Close()
	got := make(chan string, 1)
	err = events.On(bus, "order.created", func(ctx context.Context, ev events.Event[OrderCreated]) error {
		got <- fmt.Sprintf("billing got %s from %s, corrid %s", ev.Payload.OrderID, ev.From, ev.CorrID)
		return nil
	})
	if err != nil {
		panic(err)
	}
	if _, err := srv.ListenChannel(ctx, "domain", "http+json+gzip://127.0.0.1:0"); err != nil {
		panic(err)
	}
	if _, err := discovery.Register(ctx, srv, reg, billing); err != nil {
		panic(err)
	}
	// The emitter: it finds listeners and their instances through discovery.
	disc := discovery.New(cache)
	defer disc.Close()
	changes, stop := cache.Subscribe()
	defer stop()
	for len(disc.Listeners("order.created")) == 0 || len(cache.Instances("billing")) == 0 {
		select {
		case <-changes: // the cache follows etcd's watch
		case <-ctx.Done():
			panic("billing never reached the cache")
		}
	}
	orders, err := events.New(set.Service("orders"), set, disc, nil, nil) // nil client: one of its own
	if err != nil {
		panic(err)
	}
	defer orders.Close()
	res, err := events.Emit(jesus.WithCorrID(ctx, "corr-1"), orders, "order.created", OrderCreated{
		OrderID: "o-1", CustomerID: "c-1", Total: Money{Amount: 19.99, Currency: "EUR"}, At: "2026-01-02T03:04:05Z",
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("acked by", res.Acked)
	fmt.Println(<-got)
	// Output:
	// acked by [billing]
	// billing got o-1 from orders, corrid corr-1
}

func ExampleWireMethod() {
	fmt.Println(events.WireMethod("billing", "order.created"))
	// Output: billing.event:order.created
}

// A payload that fails the emitter's own schema is refused before anything is sent, with
// the service and the pointer of each failure.
func ExampleEmit_invalid() {
	set, err := schema.LoadDir(filepath.Join("..", "schemas"))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	// The payload is checked before discovery is asked for listeners: a bus without
	// discovery shows the refusal as well.
	orders, err := events.New(set.Service("orders"), set, nil, nil, nil)
	if err != nil {
		panic(err)
	}
	defer orders.Close()
	_, err = events.Emit(ctx, orders, "log", LogRecord{Level: "loud", Msg: "hello", At: "2026-01-02T03:04:05Z"})
	e := jesus.AsError(err)
	fmt.Println(e.Code, e.Service, e.Failures[0].Pointer)
	// Output: invalid_argument orders@1.2.0 /level
}
