package discovery_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/jesus/discovery"
	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/registry"
	"github.com/jesus-go/jesus/schema/registry/embedded"
)

// Example registers the billing service in an embedded etcd and calls it through the
// registry, as a caller that knows only the name "billing.charge".
func Example() {
	dir, _ := os.MkdirTemp("", "discovery")
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	local, err := embedded.StartLocal(ctx, embedded.Config{}, registry.Config{}) // etcd, a registry, its cache
	if err != nil {
		panic(err)
	}
	defer local.Close()
	reg, cache := local.Registry, local.Cache
	set, err := schema.LoadDir(filepath.Join("..", "..", "schemas"))
	if err != nil {
		panic(err)
	}
	billing := set.Service("billing")

	srv := jesus.NewServer("billing", jesus.WithValidation(jesus.ServiceSchemas(set, billing.Service, billing.Version)))
	defer srv.Close()
	jesus.Handle(srv, "billing.charge", func(ctx context.Context, req map[string]any) (map[string]any, error) {
		return map[string]any{"chargeId": "ch-1", "status": "accepted"}, nil
	})
	if err := srv.ListenDescriptor(ctx, billing, jesus.LoopbackAddrs(dir)); err != nil {
		panic(err)
	}
	if _, err := discovery.Register(ctx, srv, reg, billing); err != nil {
		panic(err)
	}

	disc := discovery.New(cache)
	defer disc.Close()
	c := jesus.NewClient("orders", jesus.WithResolver(disc), jesus.WithValidation(disc))
	defer c.Close()
	changes, stop := cache.Subscribe()
	defer stop()
	for disc.Schemas().Service("billing") == nil {
		select {
		case <-changes: // the watch delivers the descriptor
		case <-ctx.Done():
			panic(ctx.Err())
		}
	}
	res, err := jesus.Call[map[string]any, map[string]any](ctx, c, "billing.charge", map[string]any{
		"orderId": "o-1", "customerId": "c-1", "amount": map[string]any{"amount": 9.5, "currency": "EUR"},
	})
	fmt.Println(res["status"], err)
	// Output: accepted <nil>
}
