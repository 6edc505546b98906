package httpchan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/jesus-go/jesus/channel"
)

// The client sends response, ack and noResponse calls over plain http itself rather than
// through net/http's Transport: the caller's goroutine writes the request in one write and
// reads the reply in Recv, so a call costs no goroutine hand-offs and no per-request
// goroutine, and the head is built and parsed without canonicalising or copying headers.
// The bytes on the wire are those of PROTOCOL.md section 4 either way. Streams (full
// duplex with credit) and https go through net/http.

// wireHead appends a request head's header fields to a byte slice.
type wireHead struct{ b []byte }

func (h *wireHead) set(key, value string) {
	h.b = append(h.b, key...)
	h.b = append(h.b, ": "...)
	h.b = append(h.b, value...)
	h.b = append(h.b, "\r\n"...)
}

func (h *wireHead) setInt(key string, v int64) {
	h.b = append(h.b, key...)
	h.b = append(h.b, ": "...)
	h.b = strconv.AppendInt(h.b, v, 10)
	h.b = append(h.b, "\r\n"...)
}

// appendRequest appends the head of e's request (and its body when small) to dst.
func (c *conn) appendRequest(dst []byte, e *channel.Envelope) ([]byte, error) {
	if e.Method == "" {
		return dst, errors.New("httpchan: request without a method (the path would be empty)")
	}
	if !e.Mode.Valid() {
		return dst, fmt.Errorf("httpchan: request has unknown mode %d", e.Mode)
	}
	h := wireHead{b: dst}
	h.b = append(h.b, "POST "...)
	h.b = append(h.b, c.basePath...)
	h.b = append(h.b, '/')
	h.b = appendPathEscaped(h.b, e.Method)
	h.b = append(h.b, " HTTP/1.1\r\nHost: "...)
	h.b = append(h.b, c.baseURL.Host...)
	h.b = append(h.b, "\r\nUser-Agent: Go-http-client/1.1\r\nContent-Length: "...)
	h.b = strconv.AppendInt(h.b, int64(len(e.Data)), 10)
	h.b = append(h.b, "\r\n"...)
	h.set(HeaderMode, e.Mode.String())
	if e.Timeout > 0 {
		h.b = append(h.b, HeaderTimeout+": "...)
		h.b = appendTimeout(h.b, e.Timeout)
		h.b = append(h.b, "\r\n"...)
	}
	if err := appendMeta(&h, e.Codec, &e.Meta); err != nil {
		return h.b, err
	}
	h.b = append(h.b, "\r\n"...)
	if len(e.Data) <= wireBodyCopy {
		h.b = append(h.b, e.Data...)
	}
	return h.b, nil
}

// appendPathEscaped appends url.PathEscape(s) without allocating.
func appendPathEscaped(dst []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isUnreservedPath(c) {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', hex[c>>4], hex[c&15])
	}
	return dst
}

// isUnreservedPath is the set url.PathEscape leaves alone in a path segment.
func isUnreservedPath(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '_', '.', '~', '$', '&', '+', ':', '=', '@':
		return true
	}
	return false
}

// write sends the request head in w.buf and then body (nil when it was copied behind
// the head), in one write.
func (w *wireConn) write(ctx context.Context, body []byte, timeout time.Duration) error {
	deadline := len(w.buf)+len(body) > wireBodyCopy
	if deadline {
		w.nc.SetWriteDeadline(time.Now().Add(timeout))
	}
	stop := func() bool { return true }
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() { w.nc.SetWriteDeadline(time.Unix(1, 0)) })
	}
	var err error
	if len(body) > 0 {
		bufs := net.Buffers{w.buf, body}
		_, err = bufs.WriteTo(w.nc)
	} else {
		_, err = w.nc.Write(w.buf)
	}
	if !stop() {
		return ctx.Err() // the deadline may be set: the connection cannot be reused
	}
	if err == nil && deadline {
		w.nc.SetWriteDeadline(time.Time{})
	}
	return err
}

// openWire sends a response, ack or noResponse call over a connection of the pool.
func (c *conn) openWire(ctx context.Context, req *channel.Envelope) (channel.Exchange, error) {
	w, err := c.get(ctx)
	if err != nil {
		return nil, c.openError(req, err)
	}
	if w.buf, err = c.appendRequest(w.buf[:0], req); err != nil {
		c.put(w) // nothing was written
		return nil, err
	}
	var body []byte
	if len(req.Data) > wireBodyCopy {
		body = req.Data
	}
	oneWay := req.Mode == channel.ModeNoResponse
	if oneWay {
		c.oneWay.sent.Add(1)
	}
	if err := w.write(ctx, body, c.cfg.WriteTimeout); err != nil {
		c.drop(w)
		if oneWay {
			c.settleOneWay(0, err)
		}
		return nil, c.openError(req, err)
	}
	if !oneWay {
		return &wireExchange{c: c, w: w, mode: req.Mode}, nil
	}
	c.mu.Lock() // orders wg.Add before Close's wg.Wait
	if c.closed.Load() {
		c.mu.Unlock()
		c.drop(w)
		c.settleOneWay(0, c.errClosed())
		return nil, nil
	}
	c.wg.Add(1)
	c.mu.Unlock()
	go c.awaitOneWay(w)
	return nil, nil
}

func (c *conn) openError(req *channel.Envelope, err error) error {
	if c.closed.Load() {
		return c.errClosed()
	}
	return fmt.Errorf("httpchan: POST %s/%s: %w", c.base, req.Method, err)
}

// awaitOneWay reads the reply to a noResponse request (204, or an error status when the
// server refused it), counts it, and gives the connection back.
func (c *conn) awaitOneWay(w *wireConn) {
	defer c.wg.Done()
	var r wireReply
	var lr io.LimitedReader
	w.nc.SetReadDeadline(time.Now().Add(c.cfg.ReadTimeout))
	err := w.readReply(&r, &lr, c.cfg.MaxHeaderBytes)
	c.settleOneWay(r.status, err)
	if err != nil {
		c.drop(w)
		return
	}
	w.nc.SetReadDeadline(time.Time{})
	c.release(w, &r, &lr)
}

// release gives back a connection whose reply head was read: drained of a short unread
// body to the pool, otherwise closed.
func (c *conn) release(w *wireConn, r *wireReply, lr *io.LimitedReader) {
	if !r.keep || r.clen < 0 || r.body == lr && lr.N > maxDrain {
		c.drop(w)
		return
	}
	if r.body == lr && lr.N > 0 {
		if _, err := io.Copy(io.Discard, lr); err != nil || lr.N > 0 {
			c.drop(w)
			return
		}
	}
	c.put(w)
}

// wireExchange is one response or ack call on a connection of the pool. The connection is
// the call's until its reply is read; closing the exchange before that closes the
// connection, which is how http cancels a call.
type wireExchange struct {
	c    *conn
	w    *wireConn
	mode channel.Mode
	r    wireReply
	lr   io.LimitedReader
	env  channel.Envelope
	exchangeEnd
}

func (x *wireExchange) Close() error {
	if x.closed {
		return nil
	}
	x.closed = true
	if x.w != nil {
		x.c.drop(x.w)
		x.w = nil
	}
	return nil
}

func (x *wireExchange) Recv(ctx context.Context) (*channel.Envelope, error) {
	if err := x.recvErr(); err != nil {
		return nil, err
	}
	stop := func() bool { return true }
	if ctx.Done() != nil {
		nc := x.w.nc
		stop = context.AfterFunc(ctx, func() { nc.SetReadDeadline(time.Unix(1, 0)) })
	}
	e, err := x.read()
	if !stop() && ctx.Err() != nil {
		// The deadline may be set: the connection cannot carry another call.
		x.fail(nil)
		x.failed = ctx.Err()
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, x.fail(err)
	}
	x.finished = true
	x.c.release(x.w, &x.r, &x.lr)
	x.w = nil
	return e, nil
}

func (x *wireExchange) read() (*channel.Envelope, error) {
	if err := x.w.readReply(&x.r, &x.lr, x.c.cfg.MaxHeaderBytes); err != nil {
		if err == io.ErrUnexpectedEOF && x.w.reused {
			err = errors.New("the server closed the kept-alive connection without a reply")
		}
		return nil, err
	}
	e := &x.env
	*e = channel.Envelope{Mode: x.mode}
	stream, err := decodeReply(e, x.r.status, x.r.header, x.r.body, x.r.clen, x.c.cfg.MaxMessage)
	if err != nil {
		return nil, err
	}
	if stream {
		return nil, fmt.Errorf("%w: httpchan: a stream body in reply to a %s request", channel.ErrMalformed, x.mode)
	}
	return e, nil
}

func (x *wireExchange) fail(err error) error {
	if x.w != nil {
		x.c.drop(x.w)
		x.w = nil
	}
	if err == nil {
		return nil
	}
	switch {
	case x.c.closed.Load():
		err = x.c.errClosed()
	default:
		var tl *channel.TooLargeError
		if !errors.As(err, &tl) {
			err = fmt.Errorf("httpchan: reply from %s: %w", x.c.base, err)
		}
	}
	x.failed = err
	return err
}
