package registry_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/jesus-go/jesus/schema/registry"
	"github.com/jesus-go/jesus/schema/registry/embedded"
)

// Example starts an embedded etcd, publishes a descriptor, registers an instance
// and reads both back from the watch-fed cache.
func Example() {
	ctx := context.Background()
	etcd, err := embedded.Start(ctx, embedded.Config{}) // in a temporary directory, removed by Close
	if err != nil {
		log.Fatal(err)
	}
	defer etcd.Close()

	reg, err := registry.Open(ctx, registry.Config{Endpoints: etcd.Endpoints(), TTL: 5 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Close()

	doc := []byte(`{"service": "orders", "version": "1.2.0", "channels": {"rpc": "tcp+msgpack+zstd"}, "methods": {}}`)
	if err := reg.PublishDescriptor(ctx, "orders", "1.2.0", doc); err != nil {
		log.Fatal(err)
	}
	inst, err := reg.Register(ctx, registry.Instance{
		ID:        "orders-1",
		Service:   "orders",
		Version:   "1.2.0",
		Endpoints: map[string]string{"rpc": "tcp+msgpack+zstd://127.0.0.1:4101"},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer inst.Close(ctx)

	cache, err := reg.Watch(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer cache.Close()

	version, desc, _ := cache.Latest("orders")
	fmt.Printf("orders@%s: %s\n", version, desc)
	picked, err := cache.Pick("orders", "rpc", nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(picked.ID, picked.Endpoints["rpc"])
	// Output:
	// orders@1.2.0: {"service":"orders","version":"1.2.0","channels":{"rpc":"tcp+msgpack+zstd"},"methods":{}}
	// orders-1 tcp+msgpack+zstd://127.0.0.1:4101
}
