package jesus

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/codec"
	"github.com/jesus-go/jesus/codec/seal"
)

// Client calls methods of other services. It is safe for concurrent use; connections are
// opened on first use per channel and address, and kept until Close.
type Client struct {
	name string
	o    clientOptions

	mu                sync.Mutex
	conns             map[connKey]*connEntry
	live              atomic.Pointer[map[connKey]channel.Conn] // the dialled ones of conns, read without the lock
	closed            bool
	gone              channel.OneWayStats // counts of connections already closed
	parent            *Client             // set on views that share the parent's connections
	bad               atomic.Uint64       // replies and items that failed the expected schema
	bytesOut, bytesIn atomic.Uint64       // data bytes of requests sent, of replies and items received

	unary  UnaryFunc  // interceptors around invoke; nil without interceptors
	doFn   UnaryFunc  // interceptors around Do; nil without interceptors
	stream StreamFunc // interceptors around streams; nil without interceptors
}

// connEntry is a connection, or the dial that will give it: callers of the same
// endpoint wait on ready instead of holding the client's lock while one dials.
type connEntry struct {
	ready chan struct{}
	cn    channel.Conn
	err   error
}

// connKey names a connection: a transport, an address and whether it speaks TLS.
type connKey struct {
	transport, addr string
	tls             bool
}

// bufs holds encode buffers. Transports keep nothing of an envelope once Open or Send
// returned, so a message is encoded into a pooled buffer that goes back right after.
var bufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// maxPooledBuf is the largest buffer kept: one large message must not pin its buffer.
const maxPooledBuf = 1 << 20

func getBuf() *[]byte { return bufs.Get().(*[]byte) }

func putBuf(p *[]byte, b []byte) {
	if cap(b) > maxPooledBuf {
		return
	}
	*p = b[:0]
	bufs.Put(p)
}

// NewClient returns a client for the service named name (sent as Meta.From; "" is fine).
// Without WithTarget or WithResolver every call fails with unavailable.
func NewClient(name string, opts ...Option) *Client {
	c := &Client{name: name, conns: map[connKey]*connEntry{}}
	for _, o := range opts {
		o.applyClient(&c.o)
	}
	c.o.fill()
	c.unary = chainUnary(c.o.intercept, c.invoke)
	c.doFn = chainUnary(c.o.intercept, func(ctx context.Context, call *Invocation) error {
		return c.do(ctx, call.Request.(*Request), call)
	})
	c.stream = chainStream(c.o.intercept, c.streamBase)
	return c
}

// Name is the calling service's name (Meta.From of its requests).
func (c *Client) Name() string { return c.name }

// Codecs is the client's codec registry (WithCodecs), for layers that encode their own
// data and send it with Do.
func (c *Client) Codecs() *codec.Registry { return c.o.codecs }

// Transports is the client's set of transports (WithTransports).
func (c *Client) Transports() channel.Set { return c.o.transports }

// Close closes every connection; calls in flight fail with unavailable. Repeat-safe.
func (c *Client) Close() error {
	c.mu.Lock()
	conns := c.conns
	c.conns, c.closed = map[connKey]*connEntry{}, true
	c.publish()
	c.mu.Unlock()
	var first error
	for _, e := range conns {
		<-e.ready
		if e.cn == nil {
			continue
		}
		if err := c.retire(e.cn); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// publish makes the dialled connections readable without the lock; c.mu is held.
func (c *Client) publish() {
	m := make(map[connKey]channel.Conn, len(c.conns))
	for k, e := range c.conns {
		if e.cn != nil {
			m[k] = e.cn
		}
	}
	c.live.Store(&m)
}

// retire closes cn and keeps its one-way counts in the client's totals.
func (c *Client) retire(cn channel.Conn) error {
	err := cn.Close()
	if oc, ok := cn.(channel.OneWayCounter); ok {
		st := oc.OneWayStats()
		c.mu.Lock()
		addOneWay(&c.gone, st)
		c.mu.Unlock()
	}
	return err
}

func addOneWay(dst *channel.OneWayStats, st channel.OneWayStats) {
	dst.Sent += st.Sent
	dst.Delivered += st.Delivered
	dst.Dropped += st.Dropped
	dst.Lost += st.Lost
}

// ClientStats are a client's figures since NewClient.
type ClientStats struct {
	// OneWay counts the noResponse requests of every connection, open or closed. Once
	// nothing is in flight, Sent == Delivered + Dropped + Lost on transports that learn
	// the receiver's verdict (tcp, unix, http); udp counts only what it could not send.
	OneWay channel.OneWayStats
	// BadResponses counts replies and stream items refused because they fail the
	// schema the client expects (code bad_response).
	BadResponses uint64
	// BytesOut and BytesIn count the data of the requests sent and of the replies and
	// stream items received, as they travel (serialized, compressed, sealed); envelope
	// and framing bytes are not included.
	BytesOut, BytesIn uint64
}

// Stats returns a snapshot of the client's figures.
func (c *Client) Stats() ClientStats {
	if c.parent != nil {
		return c.parent.Stats()
	}
	c.mu.Lock()
	st := ClientStats{OneWay: c.gone, BadResponses: c.bad.Load(), BytesOut: c.bytesOut.Load(), BytesIn: c.bytesIn.Load()}
	open := make([]channel.Conn, 0, len(c.conns))
	for _, e := range c.conns {
		select {
		case <-e.ready:
			if e.cn != nil {
				open = append(open, e.cn)
			}
		default:
		}
	}
	c.mu.Unlock()
	for _, cn := range open {
		if oc, ok := cn.(channel.OneWayCounter); ok {
			addOneWay(&st.OneWay, oc.OneWayStats())
		}
	}
	return st
}

func (c *Client) conn(ctx context.Context, sp channel.Spec) (channel.Conn, channel.Transport, error) {
	if c.parent != nil {
		return c.parent.conn(ctx, sp)
	}
	tr, err := c.o.transports.Get(sp.Transport)
	if err != nil {
		return nil, nil, Errorf(CodeInvalidArgument, "%v", err)
	}
	key := connKey{sp.Transport, sp.Addr, c.o.dialsTLS(sp)}
	if m := c.live.Load(); m != nil {
		if cn := (*m)[key]; cn != nil {
			return cn, tr, nil
		}
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, nil, Errorf(CodeUnavailable, "client is closed")
	}
	if e, ok := c.conns[key]; ok {
		c.mu.Unlock()
		select {
		case <-e.ready:
		case <-ctx.Done():
			return nil, nil, contextError(ctx.Err(), "")
		}
		if e.err != nil {
			return nil, nil, e.err
		}
		return e.cn, tr, nil
	}
	e := &connEntry{ready: make(chan struct{})}
	c.conns[key] = e
	c.mu.Unlock()

	cn, err := tr.Dial(ctx, sp.Addr, c.o.dialConfig(sp))
	c.mu.Lock()
	if err != nil {
		e.err = Errorf(CodeUnavailable, "dial %s://%s: %w", sp.Transport, sp.Addr, err)
		if c.conns[key] == e {
			delete(c.conns, key) // the next call dials again
		}
	} else if c.closed || c.conns[key] != e {
		// Closed or pruned while dialling: the connection is nobody's.
		e.err = Errorf(CodeUnavailable, "client is closed")
	} else {
		e.cn = cn
		close(e.ready)
		c.publish()
	}
	c.mu.Unlock()
	if e.cn == nil {
		close(e.ready)
	}
	if e.err != nil {
		if cn != nil {
			_ = c.retire(cn)
		}
		return nil, nil, e.err
	}
	return cn, tr, nil
}

// outgoing is a request being sent.
type outgoing struct {
	method string
	route  Route
	pl     *codec.Pipeline
	// val is the validator of the replies, looked up on the first one (a stream's items
	// share it).
	val   Validator
	valOK bool
	reply *seal.Reply // a sealed request's: opens the replies
	seq   uint32      // sealed data replies opened
}

// open validates, encodes and sends the request of call, and returns the exchange (nil
// for noResponse).
func (c *Client) open(ctx context.Context, call *Invocation) (channel.Exchange, *outgoing, error) {
	method := call.Method
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
		ex, out, err := c.openOnce(ctx, call)
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

func (c *Client) openOnce(ctx context.Context, call *Invocation) (channel.Exchange, *outgoing, error) {
	method, mode := call.Method, call.Mode
	route, err := c.o.resolver.Resolve(ctx, method)
	if err != nil {
		return nil, nil, AsError(err).InMethod(method)
	}
	call.Peer = route.Spec.Addr
	if err := c.o.refusePlaintext(route, method); err != nil {
		return nil, nil, err
	}
	pl, err := c.o.codecs.Pipeline(route.Spec.Codec)
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
	bp := getBuf()
	data, codecErr, schemaErr := encodeChecked(pl, validatorOf(c.o.validation, partRequest, method), *bp, call.Request)
	defer putBuf(bp, data)
	if codecErr != nil {
		return nil, nil, &Error{Code: codecCode(codecErr), Method: method, Message: fmt.Sprintf("encode request (%s): %v", pl.Name(), codecErr), err: codecErr}
	}
	if schemaErr != nil {
		return nil, nil, schemaFailure(schemaErr, CodeInvalidArgument, method, "request")
	}
	var reply *seal.Reply
	if route.Spec.Seal {
		sp := getBuf()
		sealed, r, err := c.o.sealRequest(*sp, route, method, call.Meta.From, data)
		defer putBuf(sp, sealed)
		if err != nil {
			return nil, nil, err
		}
		data, reply = sealed, r
	}
	c.root().bytesOut.Add(uint64(len(data)))
	// Open keeps nothing of the envelope once it returns: it is reused.
	env := envelopes.Get().(*channel.Envelope)
	defer func() {
		*env = channel.Envelope{}
		envelopes.Put(env)
	}()
	*env = channel.Envelope{Type: channel.TypeRequest, Mode: mode, Method: method, Codec: pl.Name(), Data: data, Meta: call.Meta}
	env.Meta.Channel = route.name
	if env.Meta.Channel == "" {
		env.Meta.Channel = route.Spec.Name()
	}
	call.Meta.Channel = env.Meta.Channel // for interceptors, once next returned
	// A deadline means nothing to accepted one-way work, which the receiver runs to the
	// end: a noResponse request carries none.
	if dl, ok := ctx.Deadline(); ok && mode != ModeNoResponse {
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
	if ex == nil {
		return nil, nil, nil
	}
	return ex, &outgoing{method: method, route: route, pl: pl, reply: reply}, nil
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
	return AsError(err).InMethod(method)
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
	if errors.Is(err, channel.ErrClosed) || notSent(err) || errors.Is(err, syscall.ECONNREFUSED) {
		// Gone, never reached, or (udp) nothing listens there: the resolver hears of it,
		// so that the next call goes to another instance.
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
		return out.remoteError(env, out.method)
	case channel.TypeAck:
		return out.checkControl(env, out.method)
	case channel.TypeResponse:
		return out.decode(c, env, res)
	}
	return &Error{Code: CodeInternal, Method: out.method, Message: fmt.Sprintf("unexpected %s reply", env.Type)}
}

// decode checks a response or stream item against the schema the client expects of the
// method (the receiver broke the contract when it fails: bad_response) and decodes it
// into v (nil: check only), from one decompression.
func (out *outgoing) decode(c *Client, env *channel.Envelope, v any) error {
	pl := out.pl
	if env.Codec != "" && env.Codec != pl.Name() {
		var err error
		if pl, err = c.o.codecs.Pipeline(env.Codec); err != nil {
			return &Error{Code: CodeInternal, Method: out.method, Message: "reply codec: " + err.Error(), err: err}
		}
	}
	if !out.valOK {
		out.val, out.valOK = validatorOf(c.o.validation, partResponse, out.method), true
	}
	data := env.Data
	c.root().bytesIn.Add(uint64(len(data)))
	if out.reply != nil {
		var err error
		if data, err = openReply(out.reply, env, out.seq, out.method); err != nil {
			return err
		}
		out.seq++
	}
	codecErr, schemaErr := decodeChecked(pl, out.val, data, v)
	if codecErr != nil {
		return &Error{Code: CodeInternal, Method: out.method, Message: fmt.Sprintf("decode %s from %s (%s): %v", env.Type, out.route.Spec.String(), pl.Name(), codecErr), err: codecErr}
	}
	if schemaErr != nil {
		c.root().bad.Add(1)
		what := fmt.Sprintf("the receiver broke the contract: %s from %s", env.Type, out.route.Spec.String())
		if out.route.Instance != "" {
			what += " (instance " + out.route.Instance + ")"
		}
		return schemaFailure(schemaErr, CodeBadResponse, out.method, what)
	}
	return nil
}

func (c *Client) root() *Client {
	if c.parent != nil {
		return c.parent
	}
	return c
}

// Invoke is the untyped form of Call, Send, Ack and Stream's first reply: it sends req in
// mode and decodes a response into res (a pointer, or nil).
func (c *Client) Invoke(ctx context.Context, method string, mode Mode, req, res any) error {
	if mode == ModeStream {
		return &Error{Code: CodeInvalidArgument, Method: method, Message: "use Stream for stream methods"}
	}
	if c.unary == nil {
		call := Invocation{Method: method, Mode: mode, Request: req, Response: res, Meta: OutgoingMeta(ctx, c.name)}
		return c.invoke(ctx, &call)
	}
	// Interceptors keep nothing of the Invocation once the call returned: it is reused.
	call := invocations.Get().(*Invocation)
	*call = Invocation{Method: method, Mode: mode, Request: req, Response: res, Meta: OutgoingMeta(ctx, c.name)}
	err := c.unary(ctx, call)
	*call = Invocation{}
	invocations.Put(call)
	return err
}

var invocations = sync.Pool{New: func() any { return new(Invocation) }}

// invoke is the innermost UnaryFunc of a client.
func (c *Client) invoke(ctx context.Context, call *Invocation) error {
	ex, out, err := c.open(ctx, call)
	if err != nil || ex == nil {
		return err
	}
	return c.recvTerminal(ctx, ex, out, call.Response)
}

// Call sends req to method ("service.method") and waits for its response.
func Call[Req, Res any](ctx context.Context, c *Client, method string, req Req) (Res, error) {
	var res Res
	err := c.Invoke(ctx, method, ModeResponse, req, &res)
	return res, err
}

// Send sends req in noResponse mode: it returns once the message is handed to the
// transport (tcp and unix: within the receiver's one-way window; past it Send waits, up
// to ctx, for the receiver to catch up).
func Send[Req any](ctx context.Context, c *Client, method string, req Req) error {
	return c.Invoke(ctx, method, ModeNoResponse, req, nil)
}

// Ack sends req in ack mode: it returns once the receiver has accepted the request
// (decoded, validated, admitted); the receiver then runs its handler.
func Ack[Req any](ctx context.Context, c *Client, method string, req Req) error {
	return c.Invoke(ctx, method, ModeAck, req, nil)
}

// errStopped is what a client stream's send returns once the caller's loop stopped.
var errStopped = errors.New("jesus: the stream's reader stopped")

// Stream calls a stream method and yields its items, each checked against the schema
// the client expects. Breaking out of the loop cancels the stream at the receiver. An
// error is yielded once, as the last pair.
func Stream[Req, Item any](ctx context.Context, c *Client, method string, req Req) iter.Seq2[Item, error] {
	return func(yield func(Item, error) bool) {
		var zero Item
		var it Item
		call := &Invocation{Method: method, Mode: ModeStream, Request: req, Response: &it, Meta: OutgoingMeta(ctx, c.name)}
		send := func(p any) error {
			if !yield(*p.(*Item), nil) {
				return errStopped
			}
			it = zero
			return nil
		}
		f := c.stream
		if f == nil {
			f = c.streamBase
		}
		if err := f(ctx, call, send); err != nil && err != errStopped {
			yield(zero, err)
		}
	}
}

// streamBase is the innermost StreamFunc of a client: it decodes each item into
// call.Response and passes that pointer to send.
func (c *Client) streamBase(ctx context.Context, call *Invocation, send func(item any) error) error {
	ex, out, err := c.open(ctx, call)
	if err != nil {
		return err
	}
	defer ex.Close()
	for {
		env, err := ex.Recv(ctx)
		if err != nil {
			return c.sendError(ctx, out.route, call.Method, err)
		}
		switch env.Type {
		case channel.TypeItem:
			if err := out.decode(c, env, call.Response); err != nil {
				return err
			}
			if err := send(call.Response); err != nil {
				return err
			}
		case channel.TypeEnd:
			return out.checkControl(env, call.Method)
		case channel.TypeError:
			return out.remoteError(env, call.Method)
		default:
			return &Error{Code: CodeInternal, Method: call.Method, Message: fmt.Sprintf("unexpected %s in a stream", env.Type)}
		}
	}
}
