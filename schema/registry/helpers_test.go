package registry_test

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel/channeltest"

	"github.com/jesus-go/jesus/schema/registry"
	"github.com/jesus-go/jesus/schema/registry/embedded"
)

// testLogger returns nil (quiet) unless JESUS_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("JESUS_TEST_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// startEtcd starts an embedded etcd in a temporary directory, closed at cleanup.
func startEtcd(t testing.TB) *embedded.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e, err := embedded.Start(ctx, embedded.Config{Dir: t.TempDir(), Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// open opens a registry with test timeouts, closed at cleanup.
func open(t testing.TB, e *embedded.Server, ttl time.Duration) *registry.Registry {
	t.Helper()
	r, err := registry.Open(context.Background(), registry.Config{
		Endpoints:   e.Endpoints(),
		DialTimeout: 2 * time.Second,
		CallTimeout: time.Second,
		TTL:         ttl,
		Logger:      testLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// checkGoroutines fails the test on goroutines left running after it.
var checkGoroutines = channeltest.CheckLeaks

func descriptor(service, version, extra string) []byte {
	return []byte(`{"service":"` + service + `","version":"` + version + `","description":"` + extra + `","channels":{"rpc":"tcp+msgpack"},"methods":{}}`)
}

func instance(service, id, addr string) registry.Instance {
	return registry.Instance{
		ID:        id,
		Service:   service,
		Version:   "1.0.0",
		Endpoints: map[string]string{"rpc": "tcp+msgpack://" + addr},
	}
}
