package embedded_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/jesus-go/jesus/schema/registry"
	"github.com/jesus-go/jesus/schema/registry/embedded"
)

// Example runs etcd in a data directory on loopback and opens a registry on it.
func Example() {
	dir, err := os.MkdirTemp("", "etcd")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	etcd, err := embedded.Start(ctx, embedded.Config{Dir: dir})
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
