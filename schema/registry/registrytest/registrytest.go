// Package registrytest starts a real registry for tests: an embedded etcd in the test's
// temporary directory, a Registry on it and a watch-fed Cache, all stopped by t.Cleanup.
// It is how the project's own tests run against etcd, and how a service's tests can.
package registrytest

import (
	"context"
	"testing"
	"time"

	"github.com/jesus-go/jesus/schema/registry"
	"github.com/jesus-go/jesus/schema/registry/embedded"
)

// Start starts an embedded etcd on loopback and opens a registry with lease TTL ttl (0:
// the default) and a cache on it.
func Start(t testing.TB, ttl time.Duration) (*embedded.Server, *registry.Registry, *registry.Cache) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	local, err := embedded.StartLocal(ctx, embedded.Config{Dir: t.TempDir()}, registry.Config{TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { local.Close() })
	return local.Etcd, local.Registry, local.Cache
}
