package admin

import (
	"context"
	"log/slog"
	"time"

	"github.com/jesus-go/jesus/jesus"
	"go.opentelemetry.io/otel/trace"
)

// RequestLog returns an interceptor that writes one line per call to l at level Info
// (errors at Warn): side, method, mode, code, duration, corrid, peer and trace id. It is
// off unless a Client or Server is given it with jesus.WithInterceptors.
func RequestLog(l *slog.Logger) jesus.Interceptor { return requestLog{l} }

type requestLog struct{ l *slog.Logger }

func (r requestLog) WrapUnary(next jesus.UnaryFunc) jesus.UnaryFunc {
	return func(ctx context.Context, inv *jesus.Invocation) error {
		start := time.Now()
		err := next(ctx, inv)
		r.log(ctx, inv, start, err)
		return err
	}
}

func (r requestLog) WrapStream(next jesus.StreamFunc) jesus.StreamFunc {
	return func(ctx context.Context, inv *jesus.Invocation, send func(any) error) error {
		start := time.Now()
		err := next(ctx, inv, send)
		r.log(ctx, inv, start, err)
		return err
	}
}

func (r requestLog) log(ctx context.Context, inv *jesus.Invocation, start time.Time, err error) {
	level, code := slog.LevelInfo, "ok"
	if err != nil {
		level, code = slog.LevelWarn, string(jesus.AsError(err).Code)
	}
	if !r.l.Enabled(ctx, level) {
		return
	}
	side := "client"
	if inv.Server {
		side = "server"
	}
	attrs := []slog.Attr{
		slog.String("side", side), slog.String("method", inv.Method), slog.String("mode", inv.Mode.String()),
		slog.String("code", code), slog.Duration("duration", time.Since(start)),
		slog.String("corrid", inv.Meta.CorrID), slog.String("peer", inv.Peer),
	}
	if id := traceID(ctx, inv.Meta.Trace); id != "" {
		attrs = append(attrs, slog.String("trace_id", id))
	}
	if err != nil {
		attrs = append(attrs, slog.String("err", err.Error()))
	}
	r.l.LogAttrs(ctx, level, "jesus: call", attrs...)
}

// traceID is the trace of the call: the span in ctx, else the traceparent in the meta.
func traceID(ctx context.Context, traceparent string) string {
	if sc := trace.SpanContextFromContext(ctx); sc.HasTraceID() {
		return sc.TraceID().String()
	}
	// version "-" trace-id(32 hex) "-" parent-id "-" flags
	if len(traceparent) >= 35 && traceparent[2] == '-' {
		return traceparent[3:35]
	}
	return ""
}
