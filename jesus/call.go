package jesus

import (
	"context"
	"errors"
	"fmt"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/codec"
	"github.com/jesus-go/jesus/codec/seal"
)

// call is the server side of one request.
type call struct {
	srv      *Server
	listener *listening
	env      *channel.Envelope
	w        channel.ReplyWriter
	pl       *codec.Pipeline
	done     bool   // a terminal reply was sent (or attempted)
	jseq     uint64 // the request's journal sequence number, when it is journaled
	budget   *channel.Budget
	held     int64  // bytes of budget held for the decoded request, until release
	failure  *Error // how the call failed, for $stats; nil while it has not

	// Parts of the call that live as long as it, allocated with it.
	msg Msg         // the incoming message
	in  incomingCtx // the handler's context: the transport's, carrying msg
	dl  deadlineCtx // the deadline the caller gave, under in
	det detached    // the context of accepted one-way work
	inv Invocation  // what interceptors see, when there are any

	// What the replies are encoded with: a pooled buffer and one envelope, reused for
	// every item of a stream (transports keep nothing of them once Send returns).
	buf  *[]byte
	out  channel.Envelope
	vals *methodVals // the method's validators

	sealed  *seal.Reply // on a sealed channel: seals the replies for the caller alone
	sealSeq uint32      // sealed data replies sent (a stream's items are numbered from 0)
	sealBuf *[]byte
}

// release gives back what the call borrowed, once it has sent its last reply.
func (c *call) release() {
	if c.buf != nil {
		putBuf(c.buf, *c.buf)
		c.buf = nil
	}
	if c.held > 0 {
		c.budget.Release(c.held)
		c.held = 0
	}
	if c.sealBuf != nil {
		putBuf(c.sealBuf, *c.sealBuf)
		c.sealBuf = nil
	}
}

// invocation fills c.inv for interceptors; req points at the decoded request.
func (c *call) invocation(req any) *Invocation {
	c.inv = Invocation{Method: c.env.Method, Mode: c.env.Mode, Meta: c.msg.Meta, Peer: c.w.Peer(), Request: req, Server: true}
	return &c.inv
}

// incomingCtx is context.WithValue(ctx, keyIncoming, msg) without an allocation of its
// own. Value passes every other key on, so the context package still finds the parent's
// cancellation and derived contexts need no goroutine.
type incomingCtx struct {
	context.Context
	msg *Msg
}

func (c *incomingCtx) Value(key any) any {
	if key == keyIncoming {
		return c.msg
	}
	return c.Context.Value(key)
}

func (c *call) decodeRequest(v any) error {
	var codecErr, schemaErr error
	if b := channel.BudgetFrom(c.in.Context); b != nil && c.pl.Compressed() {
		codecErr, schemaErr = c.decodeBudgeted(b, v)
	} else {
		codecErr, schemaErr = decodeChecked(c.pl, c.vals.req, c.env.Data, v)
	}
	if e, ok := codecErr.(*Error); ok { // refused by the budget
		return e.InMethod(c.env.Method)
	}
	if codecErr != nil {
		return &Error{Code: codecCode(codecErr), Method: c.env.Method, Message: fmt.Sprintf("decode request (%s): %v", c.pl.Name(), codecErr), err: codecErr}
	}
	if schemaErr != nil {
		c.srv.invalidRequests.Add(1)
		return schemaFailure(schemaErr, CodeInvalidArgument, c.env.Method, "request")
	}
	return nil
}

// decodeFactor is the memory a decompressed request is charged at, per byte of its
// limit: the decompressed bytes, the growth of their buffer and the decoded value.
const decodeFactor = 3

// decodeBudgeted decodes a compressed request against the listener's memory budget,
// which it holds until the call ends: first within a limit in proportion to the
// compressed size (what ordinary messages need), and only a message that expands past it
// again within MaxDecompressed, if the budget can grant that much now. A flood of
// decompression bombs is refused with resource_exhausted before it is spent.
func (c *call) decodeBudgeted(b *channel.Budget, v any) (codecErr, schemaErr error) {
	max := c.pl.Limits().MaxDecompressed
	limit := min(max, 64<<10+16*len(c.env.Data))
	for {
		if !b.Acquire(int64(limit * decodeFactor)) {
			return Errorf(CodeResourceExhausted, "%s: the server's memory budget cannot hold a request expanding to %d bytes now (%d of %d bytes in use)",
				c.srv.name, limit, b.Used(), b.Limit()), nil
		}
		c.budget, c.held = b, int64(limit*decodeFactor)
		codecErr, schemaErr = decodeWithin(c.pl, c.vals.req, c.env.Data, v, limit)
		if limit == max || !errors.Is(codecErr, codec.ErrTooLarge) {
			return codecErr, schemaErr
		}
		b.Release(c.held)
		c.held, limit = 0, max
	}
}

// codecCode is the code of a failure to decode a peer's data: over a size limit is
// resource_exhausted, anything else is malformed input.
func codecCode(err error) Code {
	if errors.Is(err, codec.ErrTooLarge) {
		return CodeResourceExhausted
	}
	return CodeInvalidArgument
}

// reply encodes v and sends it as a terminal reply of type t.
func (c *call) reply(ctx context.Context, t channel.Type, v any) {
	env, err := c.encode(t, v)
	if err != nil {
		c.fail(err)
		return
	}
	c.done = true
	if err := c.w.Send(ctx, env); err != nil {
		if errors.Is(err, channel.ErrTooLarge) {
			c.done = false
			c.fail(Errorf(CodeResourceExhausted, "%s: response: %v", c.env.Method, err))
			return
		}
		c.srv.o.logger.Debug("jesus: reply not delivered", "method", c.env.Method, "err", err)
	}
}

func (c *call) sendItem(ctx context.Context, v any) error {
	if c.done {
		return Errorf(CodeFailedPrecondition, "send after the stream ended")
	}
	env, err := c.encode(channel.TypeItem, v)
	if err != nil {
		return err
	}
	if err := c.w.Send(ctx, env); err != nil {
		if ctx.Err() != nil {
			return contextError(ctx.Err(), c.env.Method)
		}
		return AsError(err)
	}
	return nil
}

func (c *call) encode(t channel.Type, v any) (*channel.Envelope, error) {
	if c.buf == nil {
		c.buf = getBuf()
	}
	data, codecErr, schemaErr := encodeChecked(c.pl, c.vals.res, (*c.buf)[:0], v)
	*c.buf = data[:0] // keep what grew
	if codecErr != nil {
		return nil, Errorf(CodeInternal, "%s: encode %s (%s): %w", c.env.Method, t, c.pl.Name(), codecErr)
	}
	if schemaErr != nil {
		c.srv.invalidReplies.Add(1)
		// A handler that returns what its own schema forbids is a server bug, not the caller's.
		e := schemaFailure(schemaErr, CodeInternal, c.env.Method, "the handler's "+t.String())
		e.Message = "the handler's " + t.String() + " fails the service's own schema (" + e.Service + ")"
		return nil, e
	}
	if c.sealed != nil {
		if c.sealBuf == nil {
			c.sealBuf = getBuf()
		}
		sealed, err := c.sealed.SealWith((*c.sealBuf)[:0], data, seqAAD(c.sealSeq))
		*c.sealBuf = sealed[:0]
		c.sealSeq++
		if err != nil {
			return nil, Errorf(CodeInternal, "%s: seal %s: %w", c.env.Method, t, err)
		}
		data = sealed
	}
	c.srv.bytesOut.Add(uint64(len(data)))
	c.out = channel.Envelope{Type: t, Codec: c.pl.Name(), Data: data}
	c.out.Meta.CorrID = c.env.Meta.CorrID
	c.out.Meta.From = c.srv.name
	return &c.out, nil
}

// fail sends err as the terminal error reply, unless one was sent or the mode has no replies.
func (c *call) fail(err error) {
	if c.done {
		return
	}
	c.done = true
	e := AsError(err).InMethod(c.env.Method)
	c.failure = e
	if c.env.Mode == ModeNoResponse || c.env.Mode == 0 {
		// Nothing goes back to the caller; the transport counts the request as dropped
		// (and tells the sender where it can), so that no one-way message vanishes unseen.
		c.srv.o.logger.Warn("jesus: noResponse request dropped", "method", c.env.Method, "corrid", c.env.Meta.CorrID, "err", e)
		drop := channel.Envelope{Type: channel.TypeError, ErrCode: string(e.Code)}
		_ = c.w.Send(context.Background(), &drop)
		return
	}
	env := &channel.Envelope{Type: channel.TypeError}
	e.toEnvelope(env)
	env.Meta.CorrID = c.env.Meta.CorrID
	env.Meta.From = c.srv.name
	if c.sealed != nil {
		c.sealError(env) // the message may tell what the payload held
	}
	// The caller may be gone; a short bound keeps a dead peer from pinning the handler.
	ctx, cancel := context.WithTimeout(context.Background(), c.srv.o.cfg.WriteTimeout)
	defer cancel()
	if err := c.w.Send(ctx, env); err != nil {
		c.srv.o.logger.Debug("jesus: error reply not delivered", "method", c.env.Method, "err", err)
	}
}
