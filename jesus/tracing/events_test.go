package tracing_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/jesus-go/jesus/jesus/discovery"

	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/events"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/jesus/tracing"
	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/registry/registrytest"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

type money struct {
	Amount   float64 `json:"amount"`
	Currency string  `json:"currency"`
}

type orderCreated struct {
	OrderID    string `json:"orderId"`
	CustomerID string `json:"customerId"`
	Total      money  `json:"total"`
	At         string `json:"at"`
}

// TestEventSpans: an event emitted inside a traced handler is a client span under the
// handler's span, and its delivery a server span under that, in the same trace.
func TestEventSpans(t *testing.T) {
	channeltest.CheckLeaks(t)
	exp, tp := memTracer(t)
	on := tracing.On(tracing.WithTracerProvider(tp))
	_, reg, cache := registrytest.Start(t, 2*time.Second)
	set, err := schema.LoadDir(filepath.Join("..", "..", "schemas"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)

	// billing listens to order.created.
	billing := set.Service("billing")
	lsrv := jesus.NewServer("billing", on)
	defer lsrv.Close()
	lbus, err := events.New(billing, set, nil, nil, lsrv)
	if err != nil {
		t.Fatal(err)
	}
	defer lbus.Close()
	got := make(chan struct{}, 1)
	if err := events.On(lbus, "order.created", func(context.Context, events.Event[orderCreated]) error {
		got <- struct{}{}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := lsrv.ListenChannel(ctx, "domain", "http+json+gzip://127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	if _, err := discovery.Register(ctx, lsrv, reg, billing); err != nil {
		t.Fatal(err)
	}
	channeltest.Eventually(t, 10*time.Second, "billing to be registered", func() bool { return len(cache.Instances("billing")) > 0 })

	// orders emits it from inside a traced handler.
	disc := discovery.New(cache)
	defer disc.Close()
	ebus, err := events.New(set.Service("orders"), set, disc, nil, nil, events.WithInterceptors(tracing.Interceptor(tracing.WithTracerProvider(tp))))
	if err != nil {
		t.Fatal(err)
	}
	defer ebus.Close()
	osrv := jesus.NewServer("orders", on)
	jesus.Handle(osrv, "create", func(ctx context.Context, id string) (string, error) {
		_, err := events.Emit(ctx, ebus, "order.created", orderCreated{id, "c-1", money{10, "EUR"}, "2026-01-02T03:04:05Z"})
		return id, err
	})
	bound, err := osrv.Listen(ctx, "tcp+msgpack://127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer osrv.Close()
	cli := jesus.NewClient("shop", jesus.WithTarget(bound.String()))
	defer cli.Close()
	if _, err := jesus.Call[string, string](ctx, cli, "orders.create", "o-1"); err != nil {
		t.Fatal(err)
	}
	<-got
	spans := waitSpans(t, exp, 3)
	byName := map[string]tracetest.SpanStub{}
	for _, s := range spans {
		byName[s.Name+"/"+s.SpanKind.String()] = s
	}
	handler, emit, deliver := byName["orders.create/server"], byName["billing.event:order.created/client"], byName["billing.event:order.created/server"]
	if !handler.SpanContext.IsValid() || !emit.SpanContext.IsValid() || !deliver.SpanContext.IsValid() {
		t.Fatalf("spans: %v", names(spans))
	}
	if emit.Parent.SpanID() != handler.SpanContext.SpanID() || deliver.Parent.SpanID() != emit.SpanContext.SpanID() {
		t.Fatalf("chain broken: %v", names(spans))
	}
	if tid := handler.SpanContext.TraceID(); emit.SpanContext.TraceID() != tid || deliver.SpanContext.TraceID() != tid {
		t.Fatalf("traces differ: %v", names(spans))
	}
}
