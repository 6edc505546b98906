package jesus

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/codec"
)

// Route is where one call goes: a channel spec with an address.
type Route struct {
	Spec     channel.Spec
	Instance string // registry instance id, when resolved through the registry

	name string // Spec.Name(), computed once by NewRoute and the resolvers of this package
}

// NewRoute returns the route to sp, with its channel name computed once: a caller that
// keeps routes (e.g. per endpoint) saves building the name on every request.
func NewRoute(sp channel.Spec, instance string) Route {
	return Route{Spec: sp, Instance: instance, name: sp.Name()}
}

// Resolver finds the route of a method ("service.method"). A registry-backed resolver
// balances across live instances; Failed tells it a route's connection failed before the
// request was sent, so that the next Resolve can skip it.
type Resolver interface {
	Resolve(ctx context.Context, method string) (Route, error)
}

// FailureReporter is implemented by resolvers that want to hear of failed routes.
type FailureReporter interface {
	Failed(r Route, err error)
}

// staticTarget sends every call to one channel; the spec is parsed once.
type staticTarget struct {
	route Route
	err   error
}

func newStaticTarget(spec string) *staticTarget {
	sp, err := channel.ParseSpec(spec)
	if err != nil {
		return &staticTarget{err: Errorf(CodeInvalidArgument, "%v", err)}
	}
	if sp.Addr == "" {
		return &staticTarget{err: Errorf(CodeInvalidArgument, "target %q has no address", spec)}
	}
	return &staticTarget{route: Route{Spec: sp, name: sp.Name()}}
}

func (t *staticTarget) Resolve(context.Context, string) (Route, error) { return t.route, t.err }

// Client calls methods of other services. It is safe for concurrent use; connections are
// opened on first use per channel and address, and kept until Close.
type Client struct {
	name string
	o    clientOptions

	mu     sync.Mutex
	conns  map[connKey]channel.Conn
	closed bool
	parent *Client // set on views that share the parent's connections
	sizes  sizeHint
}

// connKey names a connection: a transport and an address.
type connKey struct{ transport, addr string }

// sizeHint remembers the size of recent encodings, so that a buffer is allocated once at
// about the right size instead of growing from nothing on every message.
type sizeHint struct{ n atomic.Int64 }

func (h *sizeHint) buf() []byte {
	n := h.n.Load()
	if n < 64 {
		n = 64
	}
	return make([]byte, 0, n)
}

func (h *sizeHint) observe(n int) {
	// Keep the larger of the recent sizes, decaying slowly so one big message does not
	// make every later buffer big.
	cur := h.n.Load()
	next := cur - cur/16
	if int64(n) > next {
		next = int64(n) + int64(n)/8
	}
	if next > 1<<20 {
		next = 1 << 20
	}
	h.n.Store(next)
}

// NewClient returns a client for the service named name (sent as Meta.From; "" is fine).
// Without WithTarget or WithResolver every call fails with unavailable.
func NewClient(name string, opts ...Option) *Client {
	c := &Client{name: name, conns: map[connKey]channel.Conn{}}
	for _, o := range opts {
		o.applyClient(&c.o)
	}
	c.o.fill()
	return c
}

// Close closes every connection; calls in flight fail with unavailable. Repeat-safe.
func (c *Client) Close() error {
	c.mu.Lock()
	conns := c.conns
	c.conns, c.closed = map[connKey]channel.Conn{}, true
	c.mu.Unlock()
	var first error
	for _, cn := range conns {
		if err := cn.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (c *Client) conn(ctx context.Context, sp channel.Spec) (channel.Conn, channel.Transport, error) {
	if c.parent != nil {
		return c.parent.conn(ctx, sp)
	}
	tr, err := c.o.transports.Get(sp.Transport)
	if err != nil {
		return nil, nil, Errorf(CodeInvalidArgument, "%v", err)
	}
	key := connKey{sp.Transport, sp.Addr}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, nil, Errorf(CodeUnavailable, "client is closed")
	}
	if cn, ok := c.conns[key]; ok {
		return cn, tr, nil
	}
	cn, err := tr.Dial(ctx, sp.Addr, c.o.cfg)
	if err != nil {
		return nil, nil, Errorf(CodeUnavailable, "dial %s://%s: %w", sp.Transport, sp.Addr, err)
	}
	c.conns[key] = cn
	return cn, tr, nil
}

// outgoing is a request being sent.
type outgoing struct {
	method string
	route  Route
	pl     *codec.Pipeline
}

// open validates, encodes and sends a request, and returns the exchange (nil for noResponse).
func (c *Client) open(ctx context.Context, method string, mode Mode, req any) (channel.Exchange, *outgoing, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, contextError(err, method)
	}
	if c.o.resolver == nil {
		return nil, nil, &Error{Code: CodeUnavailable, Method: method, Message: "client has no target or resolver"}
	}
	// A request whose connection could not even be dialled was never sent: it is retried
	// on another instance (the resolver skips the failed one), at most maxAttempts times.
	const maxAttempts = 3
	var lastErr error
	for attempt := 0; attempt < maxAttempts; attempt++ {
		ex, out, err := c.openOnce(ctx, method, mode, req)
		if err == nil {
			return ex, out, nil
		}
		lastErr = err
		if _, static := c.o.resolver.(*staticTarget); static || !notSent(err) || ctx.Err() != nil {
			break
		}
	}
	return nil, nil, lastErr
}

func (c *Client) openOnce(ctx context.Context, method string, mode Mode, req any) (channel.Exchange, *outgoing, error) {
	route, err := c.o.resolver.Resolve(ctx, method)
	if err != nil {
		e := AsError(err)
		if e.Method == "" {
			e = &Error{Code: e.Code, Message: e.Message, Method: method, err: err}
		}
		return nil, nil, e
	}
	out := &outgoing{method: method, route: route}
	out.pl, err = c.o.codecs.Pipeline(route.Spec.Codec)
	if err != nil {
		return nil, nil, &Error{Code: CodeInvalidArgument, Method: method, Message: err.Error(), err: err}
	}
	cn, tr, err := c.conn(ctx, route.Spec)
	if err != nil {
		return nil, nil, c.routeFailed(route, method, err)
	}
	if err := checkCaps(tr.Caps(), mode, route.Spec); err != nil {
		return nil, nil, &Error{Code: CodeUnimplemented, Method: method, Message: err.Error(), err: err}
	}
	data, err := out.pl.Marshal(c.sizes.buf(), req)
	if err != nil {
		return nil, nil, &Error{Code: codecCode(err), Method: method, Message: fmt.Sprintf("encode request (%s): %v", out.pl.Name(), err), err: err}
	}
	c.sizes.observe(len(data))
	if err := validate(c.o.validation, out.pl, partRequest, method, data); err != nil {
		return nil, nil, err
	}
	env := &channel.Envelope{Type: channel.TypeRequest, Mode: mode, Method: method, Codec: out.pl.Name(), Data: data}
	env.Meta = OutgoingMeta(ctx, c.name)
	env.Meta.Channel = route.name
	if env.Meta.Channel == "" {
		env.Meta.Channel = route.Spec.Name()
	}
	if dl, ok := ctx.Deadline(); ok {
		env.Timeout = time.Until(dl)
		if env.Timeout <= 0 {
			return nil, nil, &Error{Code: CodeDeadlineExceeded, Method: method, Message: "deadline passed before sending"}
		}
	}
	env.Meta.ReqOut = time.Now().UnixNano()
	ex, err := cn.Open(ctx, env)
	if err != nil {
		return nil, nil, c.sendError(ctx, route, method, err)
	}
	return ex, out, nil
}

func checkCaps(caps channel.Caps, mode Mode, sp channel.Spec) error {
	switch {
	case mode == ModeResponse && !caps.Response, mode == ModeStream && !caps.Stream:
		return fmt.Errorf("%s mode is not possible over channel %s: %s carries noResponse and ack only; use tcp, unix or http", mode, sp.Name(), sp.Transport)
	}
	return nil
}

func (c *Client) routeFailed(r Route, method string, err error) error {
	if fr, ok := c.o.resolver.(FailureReporter); ok {
		fr.Failed(r, err)
	}
	e := AsError(err)
	return &Error{Code: e.Code, Message: e.Message, Method: method, err: err}
}

// sendError maps an error from Open or Recv to an *Error naming the method.
func (c *Client) sendError(ctx context.Context, r Route, method string, err error) error {
	if ctx.Err() != nil {
		return contextError(ctx.Err(), method)
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if errors.Is(err, channel.ErrClosed) || notSent(err) {
		return c.routeFailed(r, method, Errorf(CodeUnavailable, "%s: %w", r.Spec.String(), err))
	}
	code := CodeOf(err)
	if code == CodeUnknown {
		code = CodeUnavailable
	}
	return &Error{Code: code, Method: method, Message: err.Error(), err: err}
}

// recvTerminal waits for the one reply of an ack or response call.
func (c *Client) recvTerminal(ctx context.Context, ex channel.Exchange, out *outgoing, res any) error {
	defer ex.Close()
	env, err := ex.Recv(ctx)
	if err != nil {
		return c.sendError(ctx, out.route, out.method, err)
	}
	switch env.Type {
	case channel.TypeError:
		return fromEnvelope(env, out.method)
	case channel.TypeAck:
		return nil
	case channel.TypeResponse:
		if res == nil {
			return nil
		}
		return out.decode(c, env, res)
	}
	return &Error{Code: CodeInternal, Method: out.method, Message: fmt.Sprintf("unexpected %s reply", env.Type)}
}

func (out *outgoing) decode(c *Client, env *channel.Envelope, v any) error {
	pl := out.pl
	if env.Codec != "" && env.Codec != pl.Name() {
		var err error
		if pl, err = c.o.codecs.Pipeline(env.Codec); err != nil {
			return &Error{Code: CodeInternal, Method: out.method, Message: "reply codec: " + err.Error(), err: err}
		}
	}
	if err := pl.Unmarshal(env.Data, v); err != nil {
		return &Error{Code: CodeInternal, Method: out.method, Message: fmt.Sprintf("decode reply (%s): %v", pl.Name(), err), err: err}
	}
	return nil
}

// Invoke is the untyped form of Call, Send, Ack and Stream's first reply: it sends req in
// mode and decodes a response into res (a pointer, or nil).
func (c *Client) Invoke(ctx context.Context, method string, mode Mode, req, res any) error {
	if mode == ModeStream {
		return &Error{Code: CodeInvalidArgument, Method: method, Message: "use Stream for stream methods"}
	}
	ex, out, err := c.open(ctx, method, mode, req)
	if err != nil || ex == nil {
		return err
	}
	return c.recvTerminal(ctx, ex, out, res)
}

// Call sends req to method ("service.method") and waits for its response.
func Call[Req, Res any](ctx context.Context, c *Client, method string, req Req) (Res, error) {
	var res Res
	err := c.Invoke(ctx, method, ModeResponse, req, &res)
	return res, err
}

// Send sends req in noResponse mode: it returns once the message is handed to the transport.
func Send[Req any](ctx context.Context, c *Client, method string, req Req) error {
	return c.Invoke(ctx, method, ModeNoResponse, req, nil)
}

// Ack sends req in ack mode: it returns once the receiver has accepted the request
// (decoded, validated, admitted); the receiver then runs its handler.
func Ack[Req any](ctx context.Context, c *Client, method string, req Req) error {
	return c.Invoke(ctx, method, ModeAck, req, nil)
}

// Stream calls a stream method and yields its items. Breaking out of the loop cancels the
// stream at the receiver. An error is yielded once, as the last pair.
func Stream[Req, Item any](ctx context.Context, c *Client, method string, req Req) iter.Seq2[Item, error] {
	return func(yield func(Item, error) bool) {
		var zero Item
		ex, out, err := c.open(ctx, method, ModeStream, req)
		if err != nil {
			yield(zero, err)
			return
		}
		defer ex.Close()
		for {
			env, err := ex.Recv(ctx)
			if err != nil {
				yield(zero, c.sendError(ctx, out.route, method, err))
				return
			}
			switch env.Type {
			case channel.TypeItem:
				var it Item
				if err := out.decode(c, env, &it); err != nil {
					yield(zero, err)
					return
				}
				if !yield(it, nil) {
					return
				}
			case channel.TypeEnd:
				return
			case channel.TypeError:
				yield(zero, fromEnvelope(env, method))
				return
			default:
				yield(zero, &Error{Code: CodeInternal, Method: method, Message: fmt.Sprintf("unexpected %s in a stream", env.Type)})
				return
			}
		}
	}
}

// Request is a message already encoded, for layers built on the client such as events:
// the caller picks the route and the codec, adds extra meta, and validates the data itself.
type Request struct {
	Method string
	Mode   Mode // ModeNoResponse or ModeAck
	Route  Route
	Codec  string // codec of Data, e.g. "msgpack+zstd"
	Data   []byte
	Extra  map[string]string // Meta.Extra of the request; not kept after Do returns
	CorrID string            // the request's corrid; "" takes ctx's (see WithCorrID) or a new one
}

// Do sends r over r.Route: for noResponse it returns once r is handed to the transport, for
// ack once the receiver has acknowledged. Errors are *Error; connections are the client's,
// shared with its other calls.
func (c *Client) Do(ctx context.Context, r *Request) error {
	if r.Mode != ModeNoResponse && r.Mode != ModeAck {
		return &Error{Code: CodeInvalidArgument, Method: r.Method, Message: fmt.Sprintf("Do sends noResponse or ack requests, not %s", r.Mode)}
	}
	if err := ctx.Err(); err != nil {
		return contextError(err, r.Method)
	}
	cn, tr, err := c.conn(ctx, r.Route.Spec)
	if err != nil {
		e := AsError(err)
		return &Error{Code: e.Code, Message: e.Message, Method: r.Method, err: err}
	}
	if err := checkCaps(tr.Caps(), r.Mode, r.Route.Spec); err != nil {
		return &Error{Code: CodeUnimplemented, Method: r.Method, Message: err.Error(), err: err}
	}
	// Open keeps nothing of the envelope once it returns: it is reused.
	env := envelopes.Get().(*channel.Envelope)
	defer func() {
		*env = channel.Envelope{}
		envelopes.Put(env)
	}()
	*env = channel.Envelope{Type: channel.TypeRequest, Mode: r.Mode, Method: r.Method, Codec: r.Codec, Data: r.Data}
	env.Meta = outgoingMeta(ctx, c.name, r.CorrID)
	env.Meta.Extra = r.Extra
	if r.Route.name != "" && r.Route.Spec.Codec == r.Codec {
		env.Meta.Channel = r.Route.name
	} else {
		env.Meta.Channel = r.Route.Spec.Transport + "+" + r.Codec
	}
	if dl, ok := ctx.Deadline(); ok && r.Mode == ModeAck {
		if env.Timeout = time.Until(dl); env.Timeout <= 0 {
			return &Error{Code: CodeDeadlineExceeded, Method: r.Method, Message: "deadline passed before sending"}
		}
	}
	env.Meta.ReqOut = env.Meta.ReqIn // built and sent in the same breath: one clock read
	ex, err := cn.Open(ctx, env)
	if err != nil {
		return c.sendError(ctx, r.Route, r.Method, err)
	}
	if ex == nil {
		return nil
	}
	return c.recvTerminal(ctx, ex, &outgoing{method: r.Method, route: r.Route}, nil)
}

// envelopes are Do's request envelopes.
var envelopes = sync.Pool{New: func() any { return new(channel.Envelope) }}

// Prune closes the client's connections whose endpoint live reports gone (e.g. no instance
// registers it any more), so that instances coming and going leave no sockets behind. A
// call in flight on such a connection fails with unavailable.
func (c *Client) Prune(live func(transport, addr string) bool) {
	c.mu.Lock()
	var stale []channel.Conn
	for key, cn := range c.conns {
		if !live(key.transport, key.addr) {
			stale = append(stale, cn)
			delete(c.conns, key)
		}
	}
	c.mu.Unlock()
	for _, cn := range stale {
		cn.Close()
	}
}
