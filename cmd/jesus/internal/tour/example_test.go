package tour_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/jesus-go/jesus/cmd/jesus/internal/tour"
)

// The README's server and client, on an embedded etcd in a temporary directory.
func ExampleClient() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The tour runs from the repository root, as the README's commands do.
	wd, _ := os.Getwd()
	if err := os.Chdir("../../../.."); err != nil {
		panic(err)
	}
	defer os.Chdir(wd)
	dir, err := os.MkdirTemp("", "jesus-tour-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	local, err := tour.Registry(ctx, dir)
	if err != nil {
		panic(err)
	}
	defer local.Close()
	reg, cache := local.Registry, local.Cache

	srv, err := tour.Server(ctx, reg, "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer srv.Shutdown(ctx)
	changes, stop := cache.Subscribe()
	for len(cache.Instances("orders")) == 0 {
		<-changes // the registration reaches the cache
	}
	stop()

	order, err := tour.Client(ctx, cache)
	fmt.Println(order.ID, order.Status, err)
	// Output: o-1 paid <nil>
}
