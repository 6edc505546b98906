package jesus

import "context"

// Invocation is one call as interceptors see it, on the client (outgoing) or on the server
// (incoming). An interceptor may read every field; what it may change is said per field.
type Invocation struct {
	Method string // "service.method"
	Mode   Mode
	// Meta on a client is what will be sent: an interceptor may set Trace, UserID and
	// Extra before calling next; once next has picked a route, Meta.Channel names the
	// channel the call went over. On a server it is the incoming meta, to read.
	Meta Meta
	// Peer on a server is the caller's address; on a client, the receiver's address once
	// next has picked a route ("" before).
	Peer string
	// Request on a client is the request value as given (*Request for Client.Do); on a
	// server, a pointer to the decoded, checked request.
	Request any
	// Response on a client is where the response is decoded (a pointer; nil for one-way
	// calls). On a server, once next returned nil, a pointer to the handler's response
	// (nil for one-way calls); before, it may already point at where that will be.
	Response any
	// Server is true for an incoming call.
	Server bool
}

// UnaryFunc runs a noResponse, ack or response call. On a server it runs the handler; on
// a client it sends the request and waits for the reply.
type UnaryFunc func(ctx context.Context, call *Invocation) error

// StreamFunc runs a stream call. send passes one item on: on a server, the handler's item
// to the caller; on a client, a received and checked item (a pointer, valid until send
// returns) to the caller's loop, which makes send fail once it stopped reading.
type StreamFunc func(ctx context.Context, call *Invocation, send func(item any) error) error

// Interceptor is the one hook for work that crosses every call: metrics, tracing,
// logs, caller identity and allow-lists. It wraps calls on a Client and on a Server
// (WithInterceptors), unary calls and streams alike, in the spirit of connect-go's
// Interceptor. A wrapper that does nothing returns next itself. Interceptors run after
// the message is checked against its schema on receipt, and before it is encoded and
// checked on sending; a Server runs them for requests it accepted, a Client for every
// call, including Do. They must be safe for concurrent use, and keep nothing of an
// Invocation (nor what its Request and Response point at) once the call returned: both
// ends reuse them.
type Interceptor interface {
	WrapUnary(next UnaryFunc) UnaryFunc
	WrapStream(next StreamFunc) StreamFunc
}

// An Admitter is an Interceptor that can also refuse a call before the server does
// anything for it: Admit runs for every incoming call of a server that has it among its
// interceptors (or a handler's), once the method and mode are known and before the
// request is decoded, acked or run, so that a refused ack call is never acked. The
// Invocation's Request and Response are nil. Caller identity and allow-lists
// (jesus/auth) are admitters.
type Admitter interface {
	Interceptor
	Admit(ctx context.Context, call *Invocation) error
}

// UnaryInterceptorFunc is an Interceptor that wraps unary calls only.
type UnaryInterceptorFunc func(next UnaryFunc) UnaryFunc

// WrapUnary calls f.
func (f UnaryInterceptorFunc) WrapUnary(next UnaryFunc) UnaryFunc { return f(next) }

// WrapStream returns next unchanged.
func (f UnaryInterceptorFunc) WrapStream(next StreamFunc) StreamFunc { return next }

// chainUnary wraps base in ics, the first outermost; nil when there are none, so that a
// call without interceptors pays nothing for them.
func chainUnary(ics []Interceptor, base UnaryFunc) UnaryFunc {
	if len(ics) == 0 {
		return nil
	}
	f := base
	for i := len(ics) - 1; i >= 0; i-- {
		f = ics[i].WrapUnary(f)
	}
	return f
}

// chainStream is chainUnary for streams.
func chainStream(ics []Interceptor, base StreamFunc) StreamFunc {
	if len(ics) == 0 {
		return nil
	}
	f := base
	for i := len(ics) - 1; i >= 0; i-- {
		f = ics[i].WrapStream(f)
	}
	return f
}
