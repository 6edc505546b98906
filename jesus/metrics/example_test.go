package metrics_test

import (
	"context"
	"fmt"

	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/jesus/metrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func Example() {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		panic(err)
	}

	// One option turns the metrics on for a server (and, the same way, for a client).
	s := jesus.NewServer("greeter", m.Option())
	jesus.Handle(s, "hello", func(_ context.Context, name string) (string, error) { return "hello, " + name, nil })
	_ = m.AddServer(s) // one-way drops and panics from s.Stats()
	bound, err := s.Listen(ctx, "tcp+msgpack://127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer s.Close()
	c := jesus.NewClient("example", jesus.WithTarget(bound.String()))
	defer c.Close()
	_, _ = jesus.Call[string, string](ctx, c, "greeter.hello", "ada")

	n, _ := testutil.GatherAndCount(reg, "jesus_requests_total")
	fmt.Println("series of jesus_requests_total:", n)
	// Output:
	// series of jesus_requests_total: 1
}
