package tracing_test

import (
	"context"
	"testing"

	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/jesus/tracing"
	"go.opentelemetry.io/otel/trace"
)

// FuzzTraceContext feeds whatever a peer may send as traceparent and tracestate to the
// server side: a span always starts, as the child of the peer's context when that reads
// as one and as a new root otherwise, and nothing panics.
func FuzzTraceContext(f *testing.F) {
	for _, s := range [][2]string{
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "vendor=abc,other=x"},
		{"00-00000000000000000000000000000000-00f067aa0ba902b7-01", ""},
		{"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "=,=,,"},
		{"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", "a=" + string(make([]byte, 600))},
		{"00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01", "k@v=1"},
		{"\x00\xff", "\x00"},
	} {
		f.Add(s[0], s[1])
	}
	exp, tp := memTracer(f)
	run := tracing.Interceptor(tracing.WithTracerProvider(tp)).WrapUnary(func(ctx context.Context, inv *jesus.Invocation) error {
		if !trace.SpanContextFromContext(ctx).IsValid() {
			return jesus.NewError(jesus.CodeInternal, "no span in the handler's context")
		}
		return nil
	})
	f.Fuzz(func(t *testing.T, traceparent, tracestate string) {
		inv := &jesus.Invocation{Method: "svc.m", Mode: jesus.ModeResponse, Server: true}
		inv.Meta.Trace = traceparent
		inv.Meta.Extra = map[string]string{"Tracestate": tracestate}
		if err := run(context.Background(), inv); err != nil {
			t.Fatal(err)
		}
		exp.Reset()
	})
}
