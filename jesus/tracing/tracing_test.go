package tracing_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/jesus/internal/jesustest"
	"github.com/jesus-go/jesus/jesus/tracing"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func ctxT(t *testing.T) context.Context { return channeltest.Context(t, 20*time.Second) }

// memTracer returns a tracer provider that keeps its spans in the exporter it returns, shut
// down when the test ends.
func memTracer(t testing.TB) (*tracetest.InMemoryExporter, *sdktrace.TracerProvider) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return exp, tp
}

func spec(t *testing.T, tr string) string {
	if tr == "unix" {
		return "unix+msgpack://" + filepath.Join(t.TempDir(), "s.sock")
	}
	if tr == "http" {
		return "http+json://127.0.0.1:0"
	}
	return tr + "+msgpack://127.0.0.1:0"
}

// hop serves "<name>.run": it calls next (if any) with the handler's context. Over udp
// the hops are ack calls (udp carries no replies); elsewhere response calls.
func hop(t *testing.T, tr, name string, next string, tp trace.TracerProvider) string {
	t.Helper()
	s := jesus.NewServer(name, tracing.On(tracing.WithTracerProvider(tp)))
	var c *jesus.Client
	if next != "" {
		c = jesus.NewClient(name, jesus.WithTarget(next), tracing.On(tracing.WithTracerProvider(tp)))
	}
	callNext := func(ctx context.Context, n int) error {
		if c == nil {
			return nil
		}
		if tr == "udp" {
			return jesus.Ack(ctx, c, "next.run", n+1)
		}
		_, err := jesus.Call[int, int](ctx, c, "next.run", n+1)
		return err
	}
	if tr == "udp" {
		jesus.HandleOneWay(s, "next.run", callNext)
	} else {
		jesus.Handle(s, "next.run", func(ctx context.Context, n int) (int, error) { return n, callNext(ctx, n) })
	}
	bound, err := s.Listen(ctxT(t), spec(t, tr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		if c != nil {
			c.Close()
		}
	})
	return bound.String()
}

// TestThreeHops follows one trace through caller -> a -> b -> c on every transport: six
// spans, one trace id, each span the child of the one before, the tracestate carried.
func TestThreeHops(t *testing.T) {
	for _, tr := range []string{"tcp", "unix", "http", "udp"} {
		t.Run(tr, func(t *testing.T) {
			channeltest.CheckLeaks(t)
			exp, tp := memTracer(t)

			c3 := hop(t, tr, "c", "", tp)
			c2 := hop(t, tr, "b", c3, tp)
			c1 := hop(t, tr, "a", c2, tp)
			cli := jesus.NewClient("caller", jesus.WithTarget(c1), tracing.On(tracing.WithTracerProvider(tp)))
			defer cli.Close()

			// A remote parent with a tracestate: every span below must keep both.
			ts, err := trace.ParseTraceState("vendor=abc")
			if err != nil {
				t.Fatal(err)
			}
			root := trace.NewSpanContext(trace.SpanContextConfig{
				TraceID: trace.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
				SpanID:  trace.SpanID{1, 2, 3, 4, 5, 6, 7, 8}, TraceFlags: trace.FlagsSampled,
				TraceState: ts, Remote: true,
			})
			ctx := trace.ContextWithRemoteSpanContext(ctxT(t), root)
			if tr == "udp" {
				err = jesus.Ack(ctx, cli, "next.run", 0)
			} else {
				_, err = jesus.Call[int, int](ctx, cli, "next.run", 0)
			}
			if err != nil {
				t.Fatal(err)
			}
			spans := waitSpans(t, exp, 6)
			byParent := map[trace.SpanID]tracetest.SpanStub{}
			for _, s := range spans {
				if s.SpanContext.TraceID() != root.TraceID() {
					t.Fatalf("span %s in trace %s, want %s", s.Name, s.SpanContext.TraceID(), root.TraceID())
				}
				if got := s.SpanContext.TraceState().Get("vendor"); got != "abc" {
					t.Errorf("span %s (%s) lost the tracestate: %q", s.Name, s.SpanKind, got)
				}
				byParent[s.Parent.SpanID()] = s
			}
			// Walk the chain from the remote root: client, server, client, server, ...
			parent := root.SpanID()
			for i := 0; i < 6; i++ {
				s, ok := byParent[parent]
				if !ok {
					t.Fatalf("hop %d: no span whose parent is %s; spans: %v", i, parent, names(spans))
				}
				want := trace.SpanKindClient
				if i%2 == 1 {
					want = trace.SpanKindServer
				}
				if s.SpanKind != want || s.Name != "next.run" {
					t.Fatalf("hop %d: span %s kind %s, want %s", i, s.Name, s.SpanKind, want)
				}
				parent = s.SpanContext.SpanID()
			}
		})
	}
}

func names(spans tracetest.SpanStubs) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name+"/"+s.SpanKind.String()+" parent "+s.Parent.SpanID().String()+" id "+s.SpanContext.SpanID().String())
	}
	return out
}

// waitSpans waits until exp holds n ended spans (ack handlers end after their caller).
func waitSpans(t *testing.T, exp *tracetest.InMemoryExporter, n int) tracetest.SpanStubs {
	t.Helper()
	var spans tracetest.SpanStubs
	channeltest.EventuallyState(t, 10*time.Second, fmt.Sprintf("%d ended spans", n), func() (bool, string) {
		spans = exp.GetSpans()
		return len(spans) >= n, fmt.Sprintf("%d: %v", len(spans), names(spans))
	})
	return spans
}

// TestNoProviderPassesContextOn: without an SDK, an incoming traceparent goes on unchanged
// to the next hop, and an error ends a recording span with an error status.
func TestNoProviderPassesContextOn(t *testing.T) {
	channeltest.CheckLeaks(t)
	got := make(chan string, 1)
	last := jesus.NewServer("c")
	jesus.Handle(last, "next.run", func(ctx context.Context, n int) (int, error) {
		m, _ := jesus.MsgFromContext(ctx)
		got <- m.Meta.Trace
		return n, nil
	})
	b3, err := last.Listen(ctxT(t), "tcp+msgpack://127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer last.Close()
	mid := jesus.NewServer("b", tracing.On())
	midc := jesus.NewClient("b", jesus.WithTarget(b3.String()), tracing.On())
	defer midc.Close()
	jesus.Handle(mid, "next.run", func(ctx context.Context, n int) (int, error) {
		return jesus.Call[int, int](ctx, midc, "next.run", n)
	})
	b2, err := mid.Listen(ctxT(t), "tcp+msgpack://127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer mid.Close()
	const tp = jesustest.Traceparent
	cli := jesus.NewClient("caller", jesus.WithTarget(b2.String()), jesus.WithInterceptors(jesustest.SetTrace(tp)))
	defer cli.Close()
	if _, err := jesus.Call[int, int](ctxT(t), cli, "next.run", 1); err != nil {
		t.Fatal(err)
	}
	if tr := <-got; tr != tp {
		t.Fatalf("third hop got traceparent %q, want %q", tr, tp)
	}
}

func TestErrorStatusAndExtraNotShared(t *testing.T) {
	channeltest.CheckLeaks(t)
	exp, tp := memTracer(t)
	s := jesus.NewServer("calc", tracing.On(tracing.WithTracerProvider(tp)))
	jesus.HandleOneWay(s, "put", func(context.Context, int) error { return nil })
	jesus.Handle(s, "get", func(context.Context, int) (int, error) {
		return 0, jesus.NewError(jesus.CodeNotFound, "no such key")
	})
	bound, err := s.Listen(ctxT(t), "tcp+msgpack://127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cli := jesus.NewClient("caller", jesus.WithTarget(bound.String()), tracing.On(tracing.WithTracerProvider(tp)))
	defer cli.Close()
	if _, err := jesus.Call[int, int](ctxT(t), cli, "calc.get", 1); jesus.CodeOf(err) != jesus.CodeNotFound {
		t.Fatal(err)
	}
	spans := waitSpans(t, exp, 2)
	for _, sp := range spans {
		if sp.Status.Code.String() != "Error" || sp.Status.Description != "no such key" {
			t.Errorf("%s %s: status %v", sp.Name, sp.SpanKind, sp.Status)
		}
	}

	// Do with a tracestate: the caller's Extra map is left as it was.
	ts, _ := trace.ParseTraceState("vendor=abc")
	ctx := trace.ContextWithRemoteSpanContext(ctxT(t), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}, TraceFlags: trace.FlagsSampled, TraceState: ts, Remote: true}))
	extra := map[string]string{"event-id": "e-1"}
	data := []byte{0x01} // msgpack 1
	if err := cli.Do(ctx, &jesus.Request{Method: "calc.put", Mode: jesus.ModeAck, Route: jesus.NewRoute(bound, ""),
		Codec: "msgpack", Data: data, Extra: extra}); err != nil {
		t.Fatal(err)
	}
	if len(extra) != 1 {
		t.Fatalf("caller's Extra changed: %v", extra)
	}
}

// TestGlobalProviderInstalledLater: an interceptor made before the application installs
// its provider follows it from then on.
func TestGlobalProviderInstalledLater(t *testing.T) {
	channeltest.CheckLeaks(t)
	s := jesus.NewServer("calc", tracing.On())
	jesus.Handle(s, "get", func(_ context.Context, n int) (int, error) { return n, nil })
	bound, err := s.Listen(ctxT(t), "tcp+msgpack://127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cli := jesus.NewClient("caller", jesus.WithTarget(bound.String()), tracing.On())
	defer cli.Close()
	if _, err := jesus.Call[int, int](ctxT(t), cli, "calc.get", 1); err != nil {
		t.Fatal(err)
	}
	exp, tp := memTracer(t)
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	defer otel.SetTracerProvider(prev)
	if _, err := jesus.Call[int, int](ctxT(t), cli, "calc.get", 1); err != nil {
		t.Fatal(err)
	}
	if spans := waitSpans(t, exp, 2); len(spans) != 2 {
		t.Fatalf("%d spans: %v", len(spans), names(spans))
	}
}

func TestStreamSpans(t *testing.T) {
	channeltest.CheckLeaks(t)
	exp, tp := memTracer(t)
	s := jesus.NewServer("count", tracing.On(tracing.WithTracerProvider(tp)))
	jesus.HandleStream(s, "upto", func(_ context.Context, n int, send func(int) error) error {
		for i := 1; i <= n; i++ {
			if err := send(i); err != nil {
				return err
			}
		}
		return nil
	})
	bound, err := s.Listen(ctxT(t), "unix+msgpack://"+filepath.Join(t.TempDir(), "s.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cli := jesus.NewClient("caller", jesus.WithTarget(bound.String()), tracing.On(tracing.WithTracerProvider(tp)))
	defer cli.Close()
	for _, err := range jesus.Stream[int, int](ctxT(t), cli, "count.upto", 3) {
		if err != nil {
			t.Fatal(err)
		}
	}
	spans := waitSpans(t, exp, 2)
	for _, sp := range spans {
		items := -1
		for _, a := range sp.Attributes {
			if a.Key == "jesus.stream.items" {
				items = int(a.Value.AsInt64())
			}
		}
		if items != 3 || sp.Name != "count.upto" {
			t.Errorf("%s %s: items %d", sp.Name, sp.SpanKind, items)
		}
	}
}
