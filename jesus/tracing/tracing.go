// Package tracing makes OpenTelemetry spans of jesus calls: a client span per outgoing
// call and a server span per incoming one, joined across every hop and transport by the
// W3C trace context carried in the message meta (traceparent in Meta.Trace, tracestate
// in Meta.Extra["tracestate"]). It uses the OpenTelemetry API only: without a provider
// installed by the application, spans are no-ops and an incoming context is passed on.
package tracing

import (
	"context"
	"reflect"
	"strings"
	"sync/atomic"

	"github.com/jesus-go/jesus/jesus"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// ScopeName is the instrumentation scope of the spans.
const ScopeName = "github.com/jesus-go/jesus/jesus/tracing"

// ExtraTraceState is the Meta.Extra key of the W3C tracestate.
const ExtraTraceState = "tracestate"

// Option configures the interceptor.
type Option func(*config)

type config struct {
	tp   trace.TracerProvider
	prop propagation.TextMapPropagator
}

// WithTracerProvider sets where spans go (default: otel.GetTracerProvider(), a no-op
// until the application installs one).
func WithTracerProvider(tp trace.TracerProvider) Option { return func(c *config) { c.tp = tp } }

// WithPropagator sets how the span context is written to and read from the meta
// (default: propagation.TraceContext, the W3C format).
func WithPropagator(p propagation.TextMapPropagator) Option {
	return func(c *config) { c.prop = p }
}

// Interceptor returns the tracing interceptor; install it on clients and servers with
// jesus.WithInterceptors, or use On.
//
// Without WithTracerProvider it follows otel's global provider, looked up per call so
// that one installed later is used. While that is the default no-op (nothing installed)
// or a noop.TracerProvider, a call costs no span: the incoming trace context still goes
// on to the next hop, as jesus passes it without tracing.
func Interceptor(opts ...Option) jesus.Interceptor {
	c := config{prop: propagation.TraceContext{}}
	for _, o := range opts {
		o(&c)
	}
	ic := &interceptor{prop: c.prop}
	if c.tp != nil {
		ic.fixed = &tracerOf{tp: c.tp, tracer: c.tp.Tracer(ScopeName), off: isNoop(c.tp)}
	}
	return ic
}

// On turns tracing on for a jesus.Client or jesus.Server.
func On(opts ...Option) jesus.Option { return jesus.WithInterceptors(Interceptor(opts...)) }

type interceptor struct {
	fixed  *tracerOf                // from WithTracerProvider; nil: the global one
	global atomic.Pointer[tracerOf] // the global provider last seen, with its tracer
	prop   propagation.TextMapPropagator
}

// tracerOf is a provider, its tracer, and whether its spans are all no-ops.
type tracerOf struct {
	tp     trace.TracerProvider
	tracer trace.Tracer
	off    bool
}

// isNoop reports whether tp's spans are known to be no-ops: noop.TracerProvider, or otel's
// global default while no provider is installed. Any other provider may record.
func isNoop(tp trace.TracerProvider) bool {
	if _, ok := tp.(noop.TracerProvider); ok {
		return true
	}
	t := reflect.TypeOf(tp)
	return t.Kind() == reflect.Pointer && t.Elem().PkgPath() == "go.opentelemetry.io/otel/internal/global" &&
		t.Elem().Name() == "tracerProvider"
}

// tracer returns the tracer of this call.
func (ic *interceptor) tracer() *tracerOf {
	if ic.fixed != nil {
		return ic.fixed
	}
	tp := otel.GetTracerProvider()
	if t := ic.global.Load(); t != nil && t.tp == tp {
		return t
	}
	t := &tracerOf{tp: tp, tracer: tp.Tracer(ScopeName), off: isNoop(tp)}
	ic.global.Store(t)
	return t
}

func (ic *interceptor) WrapUnary(next jesus.UnaryFunc) jesus.UnaryFunc {
	return func(ctx context.Context, inv *jesus.Invocation) error {
		t := ic.tracer()
		if t.off {
			return next(ctx, inv)
		}
		ctx, span := ic.start(ctx, t.tracer, inv)
		err := next(ctx, inv)
		ic.end(span, inv, err)
		return err
	}
}

func (ic *interceptor) WrapStream(next jesus.StreamFunc) jesus.StreamFunc {
	return func(ctx context.Context, inv *jesus.Invocation, send func(any) error) error {
		t := ic.tracer()
		if t.off {
			return next(ctx, inv, send)
		}
		ctx, span := ic.start(ctx, t.tracer, inv)
		items := 0
		err := next(ctx, inv, func(it any) error {
			items++
			return send(it)
		})
		if span.IsRecording() {
			span.SetAttributes(attribute.Int("jesus.stream.items", items))
		}
		ic.end(span, inv, err)
		return err
	}
}

// The start options, made once: an option is an interface value, allocated when made.
var (
	clientSpan = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient)}
	serverSpan = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)}
)

// start opens the span of inv: a server span under the caller's context from the meta,
// or a client span under ctx's whose context goes into the outgoing meta.
func (ic *interceptor) start(ctx context.Context, tracer trace.Tracer, inv *jesus.Invocation) (context.Context, trace.Span) {
	opts := clientSpan
	if inv.Server {
		opts = serverSpan
		if inv.Meta.Trace != "" {
			ctx = ic.prop.Extract(ctx, metaCarrier{m: &inv.Meta})
		}
	}
	ctx, span := tracer.Start(ctx, inv.Method, opts...)
	if !inv.Server {
		if sc := span.SpanContext(); sc.IsValid() {
			ic.prop.Inject(ctx, metaCarrier{m: &inv.Meta})
		}
	}
	if span.IsRecording() {
		svc, _, _ := strings.Cut(inv.Method, ".")
		span.SetAttributes(
			attribute.String("rpc.system", "jesus"),
			attribute.String("rpc.service", svc),
			attribute.String("rpc.method", inv.Method),
			attribute.String("jesus.mode", inv.Mode.String()),
			attribute.String("jesus.corrid", inv.Meta.CorrID),
		)
		if inv.Server {
			span.SetAttributes(attribute.String("jesus.channel", inv.Meta.Channel), attribute.String("client.address", inv.Peer))
		}
	}
	return ctx, span
}

func (ic *interceptor) end(span trace.Span, inv *jesus.Invocation, err error) {
	if span.IsRecording() {
		code := "ok"
		if err != nil {
			e := jesus.AsError(err)
			code = string(e.Code)
			span.SetStatus(codes.Error, e.Message)
		}
		span.SetAttributes(attribute.String("jesus.code", code))
		if !inv.Server {
			span.SetAttributes(attribute.String("jesus.channel", inv.Meta.Channel), attribute.String("server.address", inv.Peer))
		}
	}
	span.End()
}

// metaCarrier reads and writes the trace context in a Meta. A write to Extra copies the
// map, which may belong to the caller (jesus.Request.Extra).
type metaCarrier struct{ m *jesus.Meta }

func (c metaCarrier) Get(key string) string {
	switch strings.ToLower(key) {
	case "traceparent":
		return c.m.Trace
	}
	if v, ok := c.m.Extra[key]; ok {
		return v
	}
	for k, v := range c.m.Extra { // HTTP canonicalises the keys of Extra
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return ""
}

func (c metaCarrier) Set(key, value string) {
	if strings.EqualFold(key, "traceparent") {
		c.m.Trace = value
		return
	}
	if value == "" {
		return
	}
	next := make(map[string]string, len(c.m.Extra)+1)
	for k, v := range c.m.Extra {
		next[k] = v
	}
	next[strings.ToLower(key)] = value
	c.m.Extra = next
}

func (c metaCarrier) Keys() []string {
	keys := []string{"traceparent"}
	for k := range c.m.Extra {
		keys = append(keys, k)
	}
	return keys
}
