package tracing_test

import (
	"context"
	"fmt"

	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/jesus/tracing"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

func Example() {
	ctx := context.Background()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer tp.Shutdown(ctx)

	s := jesus.NewServer("greeter", tracing.On(tracing.WithTracerProvider(tp)))
	jesus.Handle(s, "hello", func(_ context.Context, name string) (string, error) { return "hello, " + name, nil })
	bound, err := s.Listen(ctx, "tcp+msgpack://127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer s.Close()
	c := jesus.NewClient("example", jesus.WithTarget(bound.String()), tracing.On(tracing.WithTracerProvider(tp)))
	defer c.Close()
	_, _ = jesus.Call[string, string](ctx, c, "greeter.hello", "ada")

	for _, sp := range exp.GetSpans() {
		fmt.Println(sp.Name, sp.SpanKind)
	}
	// Output:
	// greeter.hello server
	// greeter.hello client
}
