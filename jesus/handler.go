package jesus

import (
	"context"
	"sync"
	"time"

	"github.com/jesus-go/jesus/channel"
)

// A HandlerOption changes how one handler is served (see Handle, HandleOneWay and
// HandleStream). Layers built on jesus, such as package events, register their handlers
// with them instead of asking the server's owner for special setup.
type HandlerOption func(*handlerOpts)

type handlerOpts struct {
	req       Validator // replaces the server's Validation for requests, when reqSet
	reqSet    bool
	unlisted  bool
	intercept []Interceptor
}

// CheckRequests checks the handler's requests against v instead of the server's
// Validation: before the handler runs and, in ack mode, before the ack is sent. A
// refusal is invalid_argument with every failing pointer, as for the server's own schemas.
func CheckRequests(v Validator) HandlerOption {
	return func(o *handlerOpts) { o.req, o.reqSet = v, true }
}

// Unlisted marks a handler that serves no method of the service's descriptor (e.g. the
// event listeners of package events): CheckDescriptor does not ask the descriptor for it.
func Unlisted() HandlerOption { return func(o *handlerOpts) { o.unlisted = true } }

// WithHandlerInterceptors wraps this handler alone in ics, inside the server's own
// interceptors (the first of ics outermost).
func WithHandlerInterceptors(ics ...Interceptor) HandlerOption {
	return func(o *handlerOpts) { o.intercept = append(o.intercept, ics...) }
}

// newMethod returns the method of a handler registered on s with opts, and the
// interceptors around it: the server's, then the handler's own.
func newMethod(s *Server, name, kind string, opts []HandlerOption) (*method, []Interceptor) {
	var o handlerOpts
	for _, f := range opts {
		f(&o)
	}
	m := &method{name: name, kind: kind, unlisted: o.unlisted, req: o.req, reqSet: o.reqSet}
	ics := s.o.intercept
	if len(o.intercept) > 0 {
		ics = append(append([]Interceptor(nil), s.o.intercept...), o.intercept...)
	}
	for _, ic := range ics {
		if a, ok := ic.(Admitter); ok {
			m.admit = append(m.admit, a)
		}
	}
	return m, ics
}

// Handle registers a response-mode method: one request, one response or error.
func Handle[Req, Res any](s *Server, name string, h func(ctx context.Context, req Req) (Res, error), opts ...HandlerOption) {
	m, ics := newMethod(s, name, "response", opts)
	m.modes[ModeResponse] = true
	m.unary = chainUnary(ics, func(ctx context.Context, inv *Invocation) error {
		res, err := h(ctx, *inv.Request.(*Req))
		if err == nil {
			if p, ok := inv.Response.(*Res); ok {
				*p = res
			} else {
				inv.Response = &res
			}
		}
		return err
	})
	// With interceptors the request and the response escape to the heap: they live in a
	// pooled pair, given back once the reply is sent.
	pairs := sync.Pool{New: func() any { return new(pair[Req, Res]) }}
	m.serve = func(ctx context.Context, c *call) {
		if m.unary != nil {
			x := pairs.Get().(*pair[Req, Res])
			defer func() {
				*x = pair[Req, Res]{}
				pairs.Put(x)
			}()
			if err := c.decodeRequest(&x.req); err != nil {
				c.fail(err)
				return
			}
			inv := c.invocation(&x.req)
			inv.Response = &x.res
			if err := m.unary(ctx, inv); err != nil {
				c.fail(err)
				return
			}
			c.reply(ctx, channel.TypeResponse, inv.Response)
			return
		}
		var req Req
		if err := c.decodeRequest(&req); err != nil {
			c.fail(err)
			return
		}
		res, err := h(ctx, req)
		if err != nil {
			c.fail(err)
			return
		}
		c.reply(ctx, channel.TypeResponse, res)
	}
	s.register(m)
}

// pair holds the request and response of one intercepted call.
type pair[Req, Res any] struct {
	req Req
	res Res
}

// HandleOneWay registers a method that returns nothing: the caller chooses noResponse
// (Send: fire and forget) or ack (Ack: the server answers once it has accepted the request
// — decoded, validated, admitted — and then runs h; a graceful Shutdown waits for h).
func HandleOneWay[Req any](s *Server, name string, h func(ctx context.Context, req Req) error, opts ...HandlerOption) {
	m, ics := newMethod(s, name, "one-way (noResponse or ack)", opts)
	m.modes[ModeNoResponse], m.modes[ModeAck] = true, true
	m.unary = chainUnary(ics, func(ctx context.Context, inv *Invocation) error {
		return h(ctx, *inv.Request.(*Req))
	})
	m.serve = func(ctx context.Context, c *call) {
		var req Req
		if err := c.decodeRequest(&req); err != nil {
			c.fail(err)
			return
		}
		if !c.journalAccept(ctx) {
			return
		}
		defer c.journalDone() // after the handler, even one that panicked
		if c.env.Mode == ModeAck {
			if err := c.w.Send(ctx, c.control(channel.TypeAck)); err != nil {
				c.srv.o.logger.Debug("jesus: ack not delivered", "method", c.env.Method, "err", err)
			}
		}
		c.done = true
		// Accepted one-way work is a promise: it runs to the end even when the caller goes
		// away; only a hard stop of the server cancels it.
		c.det = detached{values: ctx, stop: c.srv.hard, call: c}
		var err error
		if m.unary != nil {
			r := req // only this branch lets the request escape
			err = m.unary(&c.det, c.invocation(&r))
		} else {
			err = h(&c.det, req)
		}
		if err != nil {
			c.failure = AsError(err)
			c.srv.oneWayErrors.Add(1)
			c.srv.o.logger.Warn("jesus: one-way handler failed", "method", c.env.Method, "corrid", c.env.Meta.CorrID, "err", err)
		}
	}
	s.register(m)
}

// detached is the context of accepted one-way work: the request's values (meta, corrid),
// no deadline, and cancelled only when the server stops hard. It costs no registration
// per request, unlike WithoutCancel plus AfterFunc.
type detached struct {
	values context.Context
	stop   context.Context
	call   *call // for JournalFromContext
}

func (d *detached) Deadline() (time.Time, bool) { return time.Time{}, false }
func (d *detached) Done() <-chan struct{}       { return d.stop.Done() }
func (d *detached) Err() error                  { return d.stop.Err() }
func (d *detached) Value(key any) any {
	if key == (journalKey{}) {
		return d.call
	}
	return d.values.Value(key)
}

// HandleStream registers a stream method: the handler sends 0..N items with send, then
// returns nil (end) or an error. send blocks while the caller is not reading (flow
// control) and fails once the caller has gone away; the handler should return then.
func HandleStream[Req, Item any](s *Server, name string, h func(ctx context.Context, req Req, send func(Item) error) error, opts ...HandlerOption) {
	m, ics := newMethod(s, name, "stream", opts)
	m.modes[ModeStream] = true
	m.stream = chainStream(ics, func(ctx context.Context, inv *Invocation, send func(any) error) error {
		return h(ctx, *inv.Request.(*Req), func(it Item) error { return send(it) })
	})
	m.serve = func(ctx context.Context, c *call) {
		var req Req
		if err := c.decodeRequest(&req); err != nil {
			c.fail(err)
			return
		}
		var err error
		if m.stream != nil {
			r := req // only this branch lets the request escape
			err = m.stream(ctx, c.invocation(&r), func(it any) error { return c.sendItem(ctx, it) })
		} else {
			err = h(ctx, req, func(it Item) error { return c.sendItem(ctx, it) })
		}
		if err != nil {
			c.fail(err)
			return
		}
		if !c.done {
			c.done = true
			if err := c.w.Send(ctx, c.control(channel.TypeEnd)); err != nil {
				c.srv.o.logger.Debug("jesus: stream end not delivered", "method", c.env.Method, "err", err)
			}
		}
	}
	s.register(m)
}
