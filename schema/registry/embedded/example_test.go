package embedded_test

import (
	"context"
	"fmt"
	"time"

	"github.com/jesus-go/jesus/schema/registry"
	"github.com/jesus-go/jesus/schema/registry/embedded"
)

// Example runs etcd on loopback, in a temporary data directory (Config.Dir names a lasting
// one), and opens a registry on it.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	etcd, err := embedded.Start(ctx, embedded.Config{}) // in a temporary directory, removed by Close
	if err != nil {
		panic(err)
	}
	defer etcd.Close()
	reg, err := registry.Open(ctx, registry.Config{Endpoints: etcd.Endpoints()})
	if err != nil {
		panic(err)
	}
	defer reg.Close()
	fmt.Println(etcd.Running())
	// Output: true
}

// ExampleStartLocal starts a whole registry in the process: etcd in a temporary directory,
// a Registry on it and the Registry's watch-fed Cache, closed together.
func ExampleStartLocal() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	local, err := embedded.StartLocal(ctx, embedded.Config{}, registry.Config{})
	if err != nil {
		panic(err)
	}
	defer local.Close()
	err = local.Registry.PublishDescriptor(ctx, "orders", "1.0.0", []byte(`{"service":"orders","version":"1.0.0","channels":{"rpc":"tcp+msgpack"},"methods":{}}`))
	fmt.Println(err)
	// Output: <nil>
}
