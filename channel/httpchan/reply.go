package httpchan

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/jesus-go/jesus/channel"
)

// replyWriter writes the replies of one request. Its mutex orders the handler's Sends
// against ServeHTTP giving up the ResponseWriter (ack mode, caller gone).
type replyWriter struct {
	l    *listener
	w    http.ResponseWriter
	rc   *http.ResponseController
	mode channel.Mode
	peer string
	tls  *tls.ConnectionState // the caller's, over TLS; handed to the handler in its ctx

	mu       sync.Mutex
	state    uint8 // stateIdle, stateStreaming, stateDone
	gone     bool  // ServeHTTP returned: w must not be touched
	panicked bool
	dropped  bool // a noResponse request its handler refused, counted once
	acked    chan struct{}
	frame    []byte
	clen     []string       // the last Content-Length value written, never changed once set
	cut      sync.WaitGroup // a write-cutting function of writeFrame that may be running

	credit *credits

	// A request with a timeout: a terminal reply after deadline goes out as
	// channel.LateReply (504 deadline_exceeded), the same on every transport.
	deadline time.Time
	timeout  time.Duration
	method   string
}

const (
	stateIdle = iota
	stateStreaming
	stateDone
)

func (rw *replyWriter) Peer() string { return rw.peer }

func (rw *replyWriter) Send(ctx context.Context, reply *channel.Envelope) error {
	if reply == nil {
		return errors.New("httpchan: Send of a nil envelope")
	}
	if rw.mode == channel.ModeNoResponse {
		return rw.dropOneWay(reply)
	}
	if reply.Type.Terminal() && channel.IsLate(rw.deadline) {
		// The handler's ctx has most likely ended with the deadline: the late error
		// goes out all the same, within WriteTimeout.
		var late channel.Envelope
		channel.LateReply(&late, rw.method, rw.timeout, reply.Meta.CorrID)
		reply, ctx = &late, context.WithoutCancel(ctx)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if reply.Type == channel.TypeItem && rw.credit != nil {
		rw.mu.Lock()
		ended := rw.state == stateDone || rw.gone
		rw.mu.Unlock()
		if !ended {
			if err := rw.credit.take(ctx); err != nil {
				return err
			}
		}
	}
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if rw.state == stateDone || rw.gone {
		return fmt.Errorf("httpchan: reply %s after the exchange ended: %w", reply.Type, channel.ErrClosed)
	}
	if rw.mode == channel.ModeStream {
		return rw.sendStream(ctx, reply)
	}
	switch reply.Type {
	case channel.TypeResponse:
		return rw.writeResponse(reply)
	case channel.TypeAck:
		return rw.writeAck(reply)
	case channel.TypeError:
		rw.state = stateDone
		return rw.writeError(reply)
	}
	return fmt.Errorf("httpchan: %s reply to a %s request: %w", reply.Type, rw.mode, channel.ErrUnsupported)
}

// dropOneWay takes the reply to a noResponse request, whose 204 is out already: a
// refusal by the layer above is a counted drop, with nothing more on the wire.
func (rw *replyWriter) dropOneWay(reply *channel.Envelope) error {
	if reply.Type != channel.TypeError {
		return channel.ErrNoReply
	}
	if rw.dropped {
		return fmt.Errorf("httpchan: reply %s after the exchange ended: %w", reply.Type, channel.ErrClosed)
	}
	rw.dropped = true
	rw.l.oneWayDropped.Add(1)
	return nil
}

// sendStream writes a reply to a stream request: an item or the end as a frame, an error
// as a frame or, before the first frame, as the error reply. rw.mu is held.
func (rw *replyWriter) sendStream(ctx context.Context, reply *channel.Envelope) error {
	switch reply.Type {
	case channel.TypeItem, channel.TypeEnd:
	case channel.TypeError:
		if rw.state == stateIdle {
			rw.state = stateDone
			return rw.writeError(reply)
		}
	default:
		return fmt.Errorf("httpchan: %s reply to a stream request: %w", reply.Type, channel.ErrUnsupported)
	}
	limit := rw.l.cfg.MaxMessage
	if size := envelopeSize(reply, limit); size > limit {
		return &channel.TooLargeError{Size: size, Limit: limit, Where: "http stream frame"}
	}
	return rw.writeFrame(ctx, reply)
}

// writeResponse writes the 200 reply to a response request. rw.mu is held.
func (rw *replyWriter) writeResponse(reply *channel.Envelope) error {
	limit := rw.l.cfg.MaxMessage
	if size := envelopeSize(reply, limit); size > limit {
		return &channel.TooLargeError{Size: size, Limit: limit, Where: "http response body"}
	}
	rw.state = stateDone
	h := rw.w.Header()
	if err := writeMeta(h, reply.Codec, &reply.Meta); err != nil {
		rw.state = stateIdle
		clear(h)
		return err
	}
	h["Content-Length"] = rw.contentLength(len(reply.Data))
	rw.setWriteDeadline()
	rw.w.WriteHeader(http.StatusOK)
	_, err := rw.w.Write(reply.Data)
	return err
}

// writeAck writes the 202 reply to an ack request and lets ServeHTTP return. rw.mu is held.
func (rw *replyWriter) writeAck(reply *channel.Envelope) error {
	h := rw.w.Header()
	if err := writeMeta(h, "", &reply.Meta); err != nil {
		clear(h)
		return err
	}
	rw.state = stateDone
	h["Content-Length"] = []string{"0"}
	rw.setWriteDeadline()
	rw.w.WriteHeader(http.StatusAccepted)
	err := rw.rc.Flush()
	if rw.acked != nil {
		close(rw.acked)
	}
	return err
}

// contentLength returns the Content-Length header value of n bytes. A reply writer is
// reused, and replies of a method tend to repeat their size: the last value is kept. The
// slice goes into a header map net/http may still read after the handler returned, so it
// is replaced, never written to.
func (rw *replyWriter) contentLength(n int) []string {
	var b [20]byte
	if len(rw.clen) == 1 && string(strconv.AppendInt(b[:0], int64(n), 10)) == rw.clen[0] {
		return rw.clen
	}
	rw.clen = []string{strconv.Itoa(n)}
	return rw.clen
}

func (rw *replyWriter) setWriteDeadline() {
	rw.rc.SetWriteDeadline(time.Now().Add(rw.l.cfg.WriteTimeout))
}

func (rw *replyWriter) writeError(reply *channel.Envelope) error {
	code := reply.ErrCode
	if code == "" {
		code = channel.CodeInternal
	}
	h := rw.w.Header()
	if err := writeMeta(h, "", &reply.Meta); err != nil {
		clear(h) // meta that HTTP cannot carry is dropped rather than losing the error
	}
	rw.setWriteDeadline()
	writeError(rw.w, StatusFromCode(code), code, reply.ErrMessage, reply.ErrDetails)
	return rw.rc.Flush()
}

// writeFrame writes one stream frame and flushes it; it returns once the bytes are with
// the kernel (TCP back-pressure), the write deadline passes, or ctx ends.
func (rw *replyWriter) writeFrame(ctx context.Context, reply *channel.Envelope) error {
	if rw.state == stateIdle {
		h := rw.w.Header()
		h["Content-Type"] = []string{StreamContentType}
		h["X-Content-Type-Options"] = []string{"nosniff"}
		rw.w.WriteHeader(http.StatusOK)
		rw.state = stateStreaming
	}
	e := *reply
	e.ID, e.Mode = 0, channel.ModeStream
	rw.frame = appendFrame(rw.frame[:0], &e)
	if reply.Type.Terminal() {
		rw.state = stateDone
	}
	rw.setWriteDeadline()
	// A ctx that ends cuts the write short. The function may run concurrently with the
	// end of the write: writeFrame waits for it, so that nothing touches rw once the
	// call is recycled.
	rc := rw.rc
	rw.cut.Add(1)
	stop := context.AfterFunc(ctx, func() {
		defer rw.cut.Done()
		rc.SetWriteDeadline(time.Now())
	})
	_, err := rw.w.Write(rw.frame)
	if err == nil {
		err = rw.rc.Flush()
	}
	stopped := stop()
	if stopped {
		rw.cut.Done()
	} else {
		rw.cut.Wait()
	}
	if !stopped && ctx.Err() != nil {
		rw.state = stateDone
		return ctx.Err()
	}
	if cap(rw.frame) > 64<<10 {
		rw.frame = nil
	}
	if err != nil {
		rw.state = stateDone
		return fmt.Errorf("httpchan: writing stream frame: %w", err)
	}
	return nil
}

// finish replies for a handler that returned without a terminal reply.
func (rw *replyWriter) finish() {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if rw.gone {
		return
	}
	msg := "httpchan: handler returned without a reply"
	if rw.panicked {
		msg = "httpchan: handler panicked"
	}
	code := channel.CodeInternal
	if channel.IsLate(rw.deadline) {
		var late channel.Envelope
		channel.LateReply(&late, rw.method, rw.timeout, "")
		code, msg = late.ErrCode, late.ErrMessage
	}
	switch rw.state {
	case stateIdle:
		rw.state = stateDone
		writeError(rw.w, StatusFromCode(code), code, msg, nil)
		rw.rc.Flush() // a flow-controlled caller ends its credit stream once it has the reply
	case stateStreaming:
		if code == channel.CodeInternal {
			if rw.panicked {
				msg = "httpchan: handler panicked before ending the stream"
			} else {
				msg = "httpchan: handler returned before ending the stream"
			}
		}
		rw.frame = appendFrame(rw.frame[:0], &channel.Envelope{Type: channel.TypeError, Mode: channel.ModeStream, ErrCode: code, ErrMessage: msg})
		rw.state = stateDone
		rw.setWriteDeadline()
		if _, err := rw.w.Write(rw.frame); err == nil {
			rw.rc.Flush()
		}
	}
	if rw.credit != nil {
		rw.credit.stop(rw.rc)
	}
}

// abandon is called when the caller went away: unless a terminal reply (the ack) is out
// already, the handler's ctx ends. Once acknowledged, a handler runs to its end.
func (rw *replyWriter) abandon(cancel context.CancelFunc) {
	rw.mu.Lock()
	replied := rw.state == stateDone
	rw.gone = true
	rw.mu.Unlock()
	if !replied {
		cancel()
	}
}

// detach marks the ResponseWriter as no longer usable: ServeHTTP is about to return.
func (rw *replyWriter) detach() {
	rw.mu.Lock()
	rw.gone = true
	rw.mu.Unlock()
}

// credits is the flow control of a stream whose caller asked for it with
// Jesus-Stream-Window: the request body goes on after the data with u32be grants.
type credits struct {
	mu    sync.Mutex
	n     int64
	err   error
	wake  chan struct{}
	done  chan struct{}
	r     io.Reader
	limit int64
}

func (rw *replyWriter) startCredits(r *http.Request, env *channel.Envelope) *RequestError {
	win, err := strconv.ParseUint(headerValue(r.Header, HeaderStreamWindow), 10, 32)
	if err != nil || win < 1 || win > maxStreamWindow {
		return badRequest("header %s: %q is not an item count in 1..%d", HeaderStreamWindow, truncate(headerValue(r.Header, HeaderStreamWindow)), maxStreamWindow)
	}
	dl := headerValue(r.Header, HeaderDataLength)
	n, err := strconv.ParseUint(dl, 10, 63)
	if err != nil {
		return badRequest("header %s: %q is not a byte count (required with %s)", HeaderDataLength, truncate(dl), HeaderStreamWindow)
	}
	if n > uint64(rw.l.cfg.MaxMessage) {
		return tooLargeBody(int64(n), rw.l.cfg.MaxMessage)
	}
	if err := rw.rc.EnableFullDuplex(); err != nil {
		return badRequest("stream flow control needs a full-duplex HTTP/1.1 connection: %v", err)
	}
	if n > 0 {
		if env.Data, err = readN(r.Body, int(n)); err != nil {
			return badRequest("request body ends before the %d data bytes of %s: %v", n, HeaderDataLength, err)
		}
	}
	c := &credits{n: int64(win), wake: make(chan struct{}, 1), done: make(chan struct{}), r: r.Body, limit: maxStreamWindow * 16}
	rw.credit = c
	go c.read()
	return nil
}

// read takes grants until the caller ends its body.
func (c *credits) read() {
	defer close(c.done)
	var b [4]byte
	for {
		_, err := io.ReadFull(c.r, b[:])
		c.mu.Lock()
		if err != nil {
			c.err = fmt.Errorf("httpchan: the caller stopped granting stream credit: %w", channel.ErrClosed)
		} else {
			c.n = min(c.n+int64(binary.BigEndian.Uint32(b[:])), c.limit)
		}
		c.mu.Unlock()
		select {
		case c.wake <- struct{}{}:
		default:
		}
		if err != nil {
			return
		}
	}
}

// take waits for one item of credit.
func (c *credits) take(ctx context.Context) error {
	for {
		c.mu.Lock()
		if c.n > 0 {
			c.n--
			c.mu.Unlock()
			return nil
		}
		err := c.err
		c.mu.Unlock()
		if err != nil {
			return err
		}
		select {
		case <-c.wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// stop waits a moment for the caller to end its credit stream, then cuts it off, so the
// reading goroutine never outlives the request.
func (c *credits) stop(rc *http.ResponseController) {
	t := time.NewTimer(creditGrace)
	defer t.Stop()
	select {
	case <-c.done:
		return
	case <-t.C:
	}
	rc.SetReadDeadline(time.Now())
	<-c.done
}
