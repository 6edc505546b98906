package dashboard_test

import (
	"context"
	"net/http"

	"github.com/jesus-go/jesus/cmd/jesus/internal/dashboard"
	"github.com/jesus-go/jesus/schema/registry"
)

// Serving the dashboard of a registry on a local port (not run: it needs an etcd).
func Example() {
	ctx := context.Background()
	reg, err := registry.Open(ctx, registry.Config{Endpoints: []string{"127.0.0.1:2379"}})
	if err != nil {
		panic(err)
	}
	defer reg.Close()
	cache, err := reg.Watch(ctx)
	if err != nil {
		panic(err)
	}
	defer cache.Close()
	d := dashboard.New(dashboard.Config{Cache: cache})
	defer d.Close()
	_ = http.ListenAndServe("127.0.0.1:8090", d.Handler())
}
