// Package jesustest holds what the tests of jesus and its middleware share: an interceptor
// that makes calls carry a given trace context.
package jesustest

import (
	"context"

	"github.com/jesus-go/jesus/jesus"
)

// Traceparent is a valid W3C traceparent (the example of the specification).
const Traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

// SetTrace is an interceptor that sets the trace of every invocation to traceparent.
func SetTrace(traceparent string) jesus.Interceptor {
	return jesus.UnaryInterceptorFunc(func(next jesus.UnaryFunc) jesus.UnaryFunc {
		return func(ctx context.Context, inv *jesus.Invocation) error {
			inv.Meta.Trace = traceparent
			return next(ctx, inv)
		}
	})
}
