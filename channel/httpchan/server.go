package httpchan

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jesus-go/jesus/channel"
)

// maxStreamWindow bounds Jesus-Stream-Window.
const maxStreamWindow = 1 << 20

// creditGrace is how long a finished stream waits for the caller to close its credit
// stream before the server stops reading it.
const creditGrace = time.Second

type listener struct {
	cfg  channel.Config
	log  *slog.Logger
	ln   net.Listener
	srv  *http.Server
	addr string

	base   context.Context // parent of every handler's ctx; cancelled by a hard close
	cancel context.CancelFunc

	h        atomic.Pointer[handlerBox]
	served   atomic.Bool
	closing  atomic.Bool
	inFlight atomic.Int64
	// detachedOneWay counts noResponse handlers running after their 204; past
	// maxDetachedOneWay the next one runs before it (flow control).
	detachedOneWay atomic.Int64
	budget         *channel.Budget // what the listener holds for all its peers (Config.MemoryBudget)
	detached       sync.WaitGroup  // handlers that outlive their ServeHTTP (ack, noResponse)

	oneWayReceived atomic.Uint64
	oneWayDropped  atomic.Uint64

	closeOnce sync.Once
}

type handlerBox struct{ h channel.Handler }

func listen(ctx context.Context, addr string, cfg channel.Config) (*listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("httpchan: listen %s: %w", addr, err)
	}
	l := &listener{cfg: cfg, log: cfg.Logger, addr: ln.Addr().String(), budget: channel.BudgetOf(cfg)}
	ll := &limitListener{Listener: ln, max: int64(cfg.MaxConns), budget: l.budget, log: cfg.Logger.Warn}
	l.ln = ll // connections over the limit are closed before any handshake
	if cfg.TLS != nil {
		l.ln = tls.NewListener(ll, cfg.TLS)
	}
	l.base, l.cancel = context.WithCancel(channel.WithBudget(context.Background(), l.budget))
	l.srv = &http.Server{
		Handler:           l,
		ConnState:         ll.trackConn,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		BaseContext:       func(net.Listener) context.Context { return l.base },
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	return l, nil
}

func (l *listener) Addr() string { return l.addr }

// OneWayListenerStats implements channel.OneWayListenerCounter. A noResponse request is
// received once its head is read with a valid Jesus-Mode; it is dropped when the listener
// refuses it (draining, a bad header, a limit, a body that fails) or when its handler
// answers it with an error reply or panics. Refusals before the 204 also reach the caller
// as their error status; a handler's refusal, after the 204, is counted here alone.
func (l *listener) OneWayListenerStats() channel.OneWayListenerStats {
	dropped := l.oneWayDropped.Load() // before Received: never more drops than receipts
	return channel.OneWayListenerStats{Received: l.oneWayReceived.Load(), Dropped: dropped}
}

// refuseOneWay counts a noResponse request the transport refuses before its handler runs.
func (l *listener) refuseOneWay(mode channel.Mode) {
	if mode == channel.ModeNoResponse {
		l.oneWayDropped.Add(1)
	}
}

func (l *listener) Serve(h channel.Handler) error {
	if h == nil {
		return errors.New("httpchan: Serve with a nil handler")
	}
	if l.served.Swap(true) {
		return errors.New("httpchan: Serve called twice")
	}
	l.h.Store(&handlerBox{h})
	if l.closing.Load() {
		return fmt.Errorf("httpchan: serve %s: %w", l.addr, channel.ErrClosed)
	}
	err := l.srv.Serve(l.ln)
	if errors.Is(err, http.ErrServerClosed) || l.closing.Load() {
		return fmt.Errorf("httpchan: serve %s: %w", l.addr, channel.ErrClosed)
	}
	return fmt.Errorf("httpchan: serve %s: %w", l.addr, err)
}

func (l *listener) Shutdown(ctx context.Context) error {
	l.closing.Store(true)
	err := l.srv.Shutdown(ctx)
	l.ln.Close() // in case Serve never ran
	if err == nil {
		done := make(chan struct{})
		go func() { l.detached.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	if err != nil {
		l.Close()
		return err
	}
	l.cancel()
	return nil
}

func (l *listener) Close() error {
	l.closeOnce.Do(func() {
		l.closing.Store(true)
		l.cancel()
		l.srv.Close()
		l.ln.Close()
	})
	return nil
}

// ServeHTTP maps one HTTP request onto the handler.
func (l *listener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The mode decides whether this request is counted as one-way, even when it is refused.
	mode, merr := parseMode(r.Header)
	if merr == nil && mode == channel.ModeNoResponse {
		l.oneWayReceived.Add(1)
	}
	hb := l.h.Load()
	if l.closing.Load() || hb == nil {
		l.refuseOneWay(mode)
		w.Header().Set("Connection", "close")
		writeError(w, http.StatusServiceUnavailable, channel.CodeUnavailable, "httpchan: server is shutting down", nil)
		return
	}
	call := callPool.Get().(*serverCall)
	recycle := true // false once a handler outlives ServeHTTP (ack, noResponse)
	defer func() {
		if recycle {
			call.reset()
		}
	}()
	env := &call.env
	received := time.Now()
	rerr := parseHeadInto(r, env)
	if rerr != nil {
		l.refuseOneWay(mode)
		if rerr.Status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", http.MethodPost)
		}
		writeError(w, rerr.Status, rerr.Code, rerr.Message, nil)
		return
	}
	limit := l.cfg.MaxMessage
	if r.ContentLength > int64(limit) {
		l.refuseOneWay(mode)
		rerr = tooLargeBody(r.ContentLength, limit)
		w.Header().Set("Connection", "close")
		writeError(w, rerr.Status, rerr.Code, rerr.Message, nil)
		return
	}
	if l.inFlight.Add(1) > int64(l.cfg.MaxInFlight) {
		l.inFlight.Add(-1)
		l.refuseOneWay(mode)
		writeError(w, http.StatusTooManyRequests, channel.CodeResourceExhausted,
			fmt.Sprintf("httpchan: %d requests in flight, the limit is %d", l.cfg.MaxInFlight, l.cfg.MaxInFlight), nil)
		return
	}
	detached := false
	defer func() {
		if !detached {
			l.inFlight.Add(-1)
			l.budget.Release(call.charged)
			call.charged = 0
		}
	}()

	call.rc = *http.NewResponseController(w)
	rc := &call.rc
	rw := &call.rw
	rw.l, rw.w, rw.rc, rw.mode, rw.peer, rw.tls = l, w, rc, env.Mode, r.RemoteAddr, r.TLS
	if env.Timeout > 0 {
		rw.deadline, rw.timeout, rw.method = channel.ReplyDeadline(received, env.Timeout), env.Timeout, env.Method
	}
	if env.Mode == channel.ModeStream && headerValue(r.Header, HeaderStreamWindow) != "" {
		if rerr = rw.startCredits(r, env); rerr != nil {
			writeError(w, rerr.Status, rerr.Code, rerr.Message, nil)
			return
		}
	} else {
		if !l.chargeBody(w, r, mode, limit) {
			return
		}
		// The limit is readBody's: Content-Length was checked above, and a chunked body
		// is cut off past it; the refusal closes the connection.
		env.Data, rerr = readBodyInto(call.body, r.Body, r.ContentLength, limit)
		call.charged = l.settleBody(cap(env.Data), r.ContentLength, limit)
		if cap(env.Data) > cap(call.body) {
			call.body = env.Data[:0]
		}
		if rerr != nil {
			l.refuseOneWay(mode)
			w.Header().Set("Connection", "close")
			writeError(w, rerr.Status, rerr.Code, rerr.Message, nil)
			return
		}
	}
	// ReadTimeout bounds reading the request; a stream or a slow handler must not be cut
	// off by it, so the deadline ends here.
	rc.SetReadDeadline(time.Time{})

	switch env.Mode {
	case channel.ModeNoResponse:
		if l.detachedOneWay.Load() >= maxDetachedOneWay {
			// Flow control: with this many one-way handlers running on their own, the next
			// runs before its 204, so that a sender that outruns them waits on its
			// connection instead of piling up work (and goroutines) here.
			l.run(l.base, hb.h, env, rw)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		detached, recycle = true, false
		l.detachedOneWay.Add(1)
		l.detached.Add(1)
		go func() {
			defer l.detached.Done()
			defer l.inFlight.Add(-1)
			defer l.detachedOneWay.Add(-1)
			l.run(l.base, hb.h, env, rw)
			l.budget.Release(call.charged)
		}()
	case channel.ModeAck:
		detached, recycle = true, false
		l.serveAck(r, hb.h, call)
	default:
		l.run(r.Context(), hb.h, env, rw)
		rw.finish()
	}
}

// serverCall is what a request costs the server beyond net/http's own: the envelope its
// handler gets, the body buffer the envelope's Data aliases, and the reply writer. Both
// belong to the handler until it returns (channel.Handler), so a call whose handler runs
// inside ServeHTTP (response, stream) is reused once it has returned; ack and noResponse
// handlers outlive ServeHTTP and their calls are left to the collector.
type serverCall struct {
	env     channel.Envelope
	body    []byte
	rw      replyWriter
	rc      http.ResponseController
	charged int64 // of the listener's budget, for body
}

var callPool = sync.Pool{New: func() any { return new(serverCall) }}

// maxDetachedOneWay is how many noResponse handlers may run after their 204 at once.
const maxDetachedOneWay = 128

// maxPooledBody is the largest body buffer a pooled call keeps: a call in flight never
// pins more than this for a small request.
const maxPooledBody = 16 << 10

func (c *serverCall) reset() {
	body, frame, clen := c.body[:0], c.rw.frame[:0], c.rw.clen
	if cap(body) > maxPooledBody {
		body = nil
	}
	if cap(frame) > maxPooledBody {
		frame = nil
	}
	*c = serverCall{body: body}
	c.rw.frame, c.rw.clen = frame, clen
	callPool.Put(c)
}

// serveAck runs an ack-mode handler in its own goroutine, so that the connection is free
// for the next request once the 202 is out while the handler goes on running.
func (l *listener) serveAck(r *http.Request, h channel.Handler, call *serverCall) {
	env, rw := &call.env, &call.rw
	ctx, cancel := context.WithCancel(l.base)
	// The caller gave up before the ack: later replies fail, and the handler's ctx ends.
	stop := context.AfterFunc(r.Context(), func() { rw.abandon(cancel) })
	rw.acked = make(chan struct{})
	done := make(chan struct{})
	l.detached.Add(1)
	charged := call.charged
	go func() {
		defer l.detached.Done()
		defer l.inFlight.Add(-1)
		defer cancel()
		l.run(ctx, h, env, rw)
		rw.finish()
		l.budget.Release(charged)
		close(done)
	}()
	select {
	case <-done:
	case <-rw.acked:
	case <-r.Context().Done():
	}
	if stop() && r.Context().Err() != nil {
		rw.abandon(cancel) // stop kept the AfterFunc from running it
	}
	rw.detach()
}

func (l *listener) run(ctx context.Context, h channel.Handler, env *channel.Envelope, rw *replyWriter) {
	defer func() {
		if p := recover(); p != nil {
			l.log.Error("httpchan: handler panicked", "method", env.Method, "panic", p)
			rw.panicked = true
			if rw.mode == channel.ModeNoResponse && !rw.dropped {
				rw.dropped = true
				l.oneWayDropped.Add(1)
			}
		}
	}()
	if rw.tls != nil {
		ctx = channel.WithPeerTLS(ctx, rw.tls)
	}
	h.ServeExchange(ctx, env, rw)
}

func writeError(w http.ResponseWriter, status int, code, msg string, details []byte) {
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h[HeaderErrorCode] = []string{code}
	b := errorBody(code, msg, details)
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(status)
	w.Write(b)
}

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
		// The 204 is out already: a refusal by the layer above is a counted drop, with
		// nothing more on the wire.
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
	limit := rw.l.cfg.MaxMessage
	if rw.mode == channel.ModeStream {
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
		if size := envelopeSize(reply, limit); size > limit {
			return &channel.TooLargeError{Size: size, Limit: limit, Where: "http stream frame"}
		}
		return rw.writeFrame(ctx, reply)
	}
	switch reply.Type {
	case channel.TypeResponse:
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
	case channel.TypeAck:
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
	case channel.TypeError:
		rw.state = stateDone
		return rw.writeError(reply)
	}
	return fmt.Errorf("httpchan: %s reply to a %s request: %w", reply.Type, rw.mode, channel.ErrUnsupported)
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

// envelopeSize is the encoded size of e, computed without copying its data. When a
// generous bound (every field at its widest length prefix) is under limit, it returns
// the bound instead of the exact size, which costs an allocation.
func envelopeSize(e *channel.Envelope, limit int) int {
	m := &e.Meta
	// 256 covers the version, type, mode and id, every tag and length prefix (at most 12
	// bytes a field) and the numeric fields.
	bound := 256 + len(e.Data) + len(e.Method) + len(e.Codec) + len(e.ErrCode) + len(e.ErrMessage) + len(e.ErrDetails) +
		len(m.CorrID) + len(m.UserID) + len(m.From) + len(m.Channel) + len(m.Trace) + 10*8
	if len(m.Extra) <= channel.MaxExtra {
		for k, v := range m.Extra {
			bound += len(k) + len(v) + 32
		}
		if bound <= limit {
			return bound
		}
	}
	h := *e
	h.Data = nil
	h.ID = 0
	return channel.EnvelopeSize(&h) + len(e.Data)
}
