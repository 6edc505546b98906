package discovery_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/jesus/discovery"
	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/registry"
)

// leakCheck fails the test on goroutines left running after it.
var leakCheck = channeltest.CheckLeaks

func ctxT(t *testing.T) context.Context { return channeltest.Context(t, 20*time.Second) }

func loadSchemas(t testing.TB) *schema.Set {
	t.Helper()
	set, err := schema.LoadDir(filepath.Join("..", "..", "schemas"))
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// waitFor waits until cond holds (see channeltest.Eventually) and says how long it took.
func waitFor(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	return channeltest.Eventually(t, 15*time.Second, what, cond)
}

type Money struct {
	Amount   float64 `json:"amount"`
	Currency string  `json:"currency"`
}

// ordersClient is an orders client resolving through a discovery over cache, with the
// options more adds from that discovery; both close when the test ends.
func ordersClient(t *testing.T, cache *registry.Cache, more ...func(*discovery.Discovery) jesus.Option) *jesus.Client {
	t.Helper()
	disc := discovery.New(cache)
	t.Cleanup(disc.Close)
	opts := []jesus.Option{jesus.WithResolver(disc)}
	for _, m := range more {
		opts = append(opts, m(disc))
	}
	c := jesus.NewClient("orders", opts...)
	t.Cleanup(func() { c.Close() })
	return c
}
