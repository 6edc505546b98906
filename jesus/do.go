package jesus

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jesus-go/jesus/channel"
)

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
// shared with its other calls. Interceptors see r as the Invocation's Request.
func (c *Client) Do(ctx context.Context, r *Request) error {
	if r.Mode != ModeNoResponse && r.Mode != ModeAck {
		return &Error{Code: CodeInvalidArgument, Method: r.Method, Message: fmt.Sprintf("Do sends noResponse or ack requests, not %s", r.Mode)}
	}
	if err := ctx.Err(); err != nil {
		return contextError(err, r.Method)
	}
	if c.doFn == nil {
		return c.do(ctx, r, nil)
	}
	call := &Invocation{Method: r.Method, Mode: r.Mode, Request: r, Meta: outgoingMeta(ctx, c.name, r.CorrID), Peer: r.Route.Spec.Addr}
	call.Meta.Extra = r.Extra
	return c.doFn(ctx, call)
}

// do sends r; call carries the meta interceptors may have changed (nil: built here).
func (c *Client) do(ctx context.Context, r *Request, call *Invocation) error {
	if err := c.o.refusePlaintext(r.Route, r.Method); err != nil {
		return err
	}
	cn, tr, err := c.conn(ctx, r.Route.Spec)
	if err != nil {
		return AsError(err).InMethod(r.Method)
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
	if call != nil {
		env.Meta = call.Meta
	} else {
		env.Meta = outgoingMeta(ctx, c.name, r.CorrID)
		env.Meta.Extra = r.Extra
	}
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
	if r.Route.Spec.Seal {
		sp := getBuf()
		sealed, _, err := c.o.sealRequest(*sp, r.Route, r.Method, env.Meta.From, r.Data)
		defer putBuf(sp, sealed)
		if err != nil {
			return err
		}
		env.Data = sealed // ack and noResponse: no reply payload to open
	}
	c.root().bytesOut.Add(uint64(len(env.Data)))
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

// envelopes are request envelopes, reused: Open keeps nothing of them.
var envelopes = sync.Pool{New: func() any { return new(channel.Envelope) }}

// Prune closes the client's connections whose endpoint live reports gone (e.g. no instance
// registers it any more), so that instances coming and going leave no sockets behind. A
// call in flight on such a connection fails with unavailable.
func (c *Client) Prune(live func(transport, addr string) bool) {
	c.mu.Lock()
	var stale []channel.Conn
	for key, e := range c.conns {
		if live(key.transport, key.addr) {
			continue
		}
		select {
		case <-e.ready:
			if e.cn != nil {
				stale = append(stale, e.cn)
			}
		default: // still dialling: conn sees it gone and closes what it gets
		}
		delete(c.conns, key)
	}
	if len(stale) > 0 {
		c.publish()
	}
	c.mu.Unlock()
	for _, cn := range stale {
		_ = c.retire(cn)
	}
}
