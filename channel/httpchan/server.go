package httpchan

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
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
	if !l.admit(w, r, env, mode) {
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

	rw := call.bind(l, w, r, received)
	if env.Mode == channel.ModeStream && headerValue(r.Header, HeaderStreamWindow) != "" {
		if rerr := rw.startCredits(r, env); rerr != nil {
			writeError(w, rerr.Status, rerr.Code, rerr.Message, nil)
			return
		}
	} else if !l.readRequestBody(w, r, call, mode) {
		return
	}
	// ReadTimeout bounds reading the request; a stream or a slow handler must not be cut
	// off by it, so the deadline ends here.
	call.rc.SetReadDeadline(time.Time{})

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

// admit parses the request head into env and checks the request against the listener's
// limits (body size, requests in flight), answering it with the refusal if one fails.
// When it returns true the request is counted in flight.
func (l *listener) admit(w http.ResponseWriter, r *http.Request, env *channel.Envelope, mode channel.Mode) bool {
	rerr := parseHeadInto(r, env)
	if rerr != nil {
		l.refuseOneWay(mode)
		if rerr.Status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", http.MethodPost)
		}
		writeError(w, rerr.Status, rerr.Code, rerr.Message, nil)
		return false
	}
	limit := l.cfg.MaxMessage
	if r.ContentLength > int64(limit) {
		l.refuseOneWay(mode)
		rerr = tooLargeBody(r.ContentLength, limit)
		w.Header().Set("Connection", "close")
		writeError(w, rerr.Status, rerr.Code, rerr.Message, nil)
		return false
	}
	if l.inFlight.Add(1) > int64(l.cfg.MaxInFlight) {
		l.inFlight.Add(-1)
		l.refuseOneWay(mode)
		writeError(w, http.StatusTooManyRequests, channel.CodeResourceExhausted,
			fmt.Sprintf("httpchan: %d requests in flight, the limit is %d", l.cfg.MaxInFlight, l.cfg.MaxInFlight), nil)
		return false
	}
	return true
}

// readRequestBody reads the request body into call's envelope, charged to the listener's
// budget, answering the request with the refusal when it cannot.
func (l *listener) readRequestBody(w http.ResponseWriter, r *http.Request, call *serverCall, mode channel.Mode) bool {
	limit := l.cfg.MaxMessage
	if !l.chargeBody(w, r, mode, limit) {
		return false
	}
	env := &call.env
	// The limit is readBodyInto's: Content-Length was checked by admit, and a chunked body
	// is cut off past it; the refusal closes the connection.
	var rerr *RequestError
	env.Data, rerr = readBodyInto(call.body, r.Body, r.ContentLength, limit)
	call.charged = l.settleBody(cap(env.Data), r.ContentLength, limit)
	if cap(env.Data) > cap(call.body) {
		call.body = env.Data[:0]
	}
	if rerr != nil {
		l.refuseOneWay(mode)
		w.Header().Set("Connection", "close")
		writeError(w, rerr.Status, rerr.Code, rerr.Message, nil)
		return false
	}
	return true
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

// bind points call's reply writer at the ResponseWriter of r, received at received.
func (c *serverCall) bind(l *listener, w http.ResponseWriter, r *http.Request, received time.Time) *replyWriter {
	c.rc = *http.NewResponseController(w)
	rw, env := &c.rw, &c.env
	rw.l, rw.w, rw.rc, rw.mode, rw.peer, rw.tls = l, w, &c.rc, env.Mode, r.RemoteAddr, r.TLS
	if env.Timeout > 0 {
		rw.deadline, rw.timeout, rw.method = channel.ReplyDeadline(received, env.Timeout), env.Timeout, env.Method
	}
	return rw
}

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
