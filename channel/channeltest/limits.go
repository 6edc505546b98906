package channeltest

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel"
)

// The conformance cases of size limits, shutdown and closing (Run lists them all).

// sized returns a request whose encoded size is exactly size bytes for the given id width.
func sized(mode channel.Mode, size int, id uint64) *channel.Envelope {
	req := &channel.Envelope{Type: channel.TypeRequest, Mode: mode, Method: "svc.echo", ID: id}
	over := channel.EnvelopeSize(req)
	if size > over {
		req.Data = payload(size-over, 3)
	}
	req.ID = 0
	return req
}

// blocker is a handler that signals started, holds until its ctx ends, then signals
// cancelled; both channels hold n signals.
func blocker(n int) (h channel.Handler, started, cancelled chan struct{}) {
	started = make(chan struct{}, n)
	cancelled = make(chan struct{}, n)
	h = channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		started <- struct{}{}
		<-ctx.Done()
		cancelled <- struct{}{}
	})
	return h, started, cancelled
}

// await waits for a signal on ch, failing with the message if ctx ends first.
func await(t *testing.T, ctx context.Context, ch <-chan struct{}, format string, args ...any) {
	t.Helper()
	select {
	case <-ch:
	case <-ctx.Done():
		t.Fatalf(format, args...)
	}
}

// openStarted opens an exchange for req, closed when the test ends, and waits until
// its handler has started.
func openStarted(t *testing.T, ctx context.Context, c channel.Conn, req *channel.Envelope, started <-chan struct{}) channel.Exchange {
	t.Helper()
	x, err := c.Open(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	await(t, ctx, started, "handler did not start")
	return x
}

func (s *suite) testSizeLimit(t *testing.T) {
	cfg, c, ctx := s.echoSetup(t)
	limit := s.limit(cfg)

	// At the limit even with the widest id the transport might assign.
	req := sized(s.replyMode(), limit, 1<<63)
	r, err := call(ctx, c, req)
	if err != nil {
		t.Fatalf("request of %d bytes (limit %d): %v", channel.EnvelopeSize(req), limit, err)
	}
	s.checkReply(t, r, req)
	if s.caps.Response && len(r.Data) != len(req.Data) {
		t.Fatalf("reply data %d bytes, want %d", len(r.Data), len(req.Data))
	}

	// Just over the limit with the narrowest id: the sender can tell before sending.
	req = sized(s.replyMode(), limit+1, 0)
	x, err := c.Open(ctx, req)
	if err == nil {
		defer x.Close()
		t.Fatalf("Open of a %d-byte request with limit %d succeeded", channel.EnvelopeSize(req), limit)
	}
	var tl *channel.TooLargeError
	if !errors.As(err, &tl) || !errors.Is(err, channel.ErrTooLarge) {
		t.Fatalf("Open over the limit: %v, want a *channel.TooLargeError", err)
	}
	if tl.Limit != limit || tl.Size <= limit {
		t.Fatalf("TooLargeError size %d limit %d, want limit %d", tl.Size, tl.Limit, limit)
	}
	// The connection still works.
	if _, err := call(ctx, c, &channel.Envelope{Type: channel.TypeRequest, Mode: s.replyMode(), Method: "svc.echo"}); err != nil {
		t.Fatalf("call after a refused large request: %v", err)
	}
}

func (s *suite) testReplyTooLarge(t *testing.T) {
	if !s.caps.Response {
		t.Skip("transport has no data-carrying replies")
	}
	cfg := s.config()
	limit := s.limit(cfg)
	srv := s.serve(t, cfg, channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		err := w.Send(ctx, &channel.Envelope{Type: channel.TypeResponse, Data: payload(limit+1, 0)})
		if !errors.Is(err, channel.ErrTooLarge) {
			t.Errorf("Send of an oversized reply: %v, want ErrTooLarge", err)
		}
		w.Send(ctx, &channel.Envelope{Type: channel.TypeError, ErrCode: channel.CodeInternal, ErrMessage: "reply too large"})
	}))
	c := s.dial(t, srv.ln.Addr(), cfg)
	r, err := call(tctx(t), c, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse, Method: "svc.big"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Type != channel.TypeError || r.ErrCode != channel.CodeInternal {
		t.Fatalf("got %s %q, want the handler's error", r.Type, r.ErrCode)
	}
}

func (s *suite) testListenerClosedInFlight(t *testing.T) {
	if !s.caps.Response {
		t.Skip("transport has no exchanges that stay open")
	}
	cfg := s.config()
	const n = 8
	h, started, cancelled := blocker(n)
	srv := s.serve(t, cfg, h)
	c := s.dial(t, srv.ln.Addr(), cfg)
	ctx := tctx(t)
	xs := make([]channel.Exchange, n)
	for i := range xs {
		x, err := c.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse, Method: "svc.block"})
		if err != nil {
			t.Fatal(err)
		}
		defer x.Close()
		xs[i] = x
	}
	for i := 0; i < n; i++ {
		await(t, ctx, started, "%d of %d handlers started", i, n)
	}
	if err := srv.ln.Close(); err != nil {
		t.Fatalf("Listener.Close: %v", err)
	}
	for i, x := range xs {
		r, err := x.Recv(ctx)
		if err == nil && r.Type != channel.TypeError {
			t.Fatalf("exchange %d: got %s after the listener closed, want an error", i, r.Type)
		}
		if ctx.Err() != nil {
			t.Fatalf("exchange %d: Recv hung after the listener closed", i)
		}
	}
	for i := 0; i < n; i++ {
		await(t, ctx, cancelled, "%d of %d handler contexts were cancelled", i, n)
	}
}

func (s *suite) testShutdownWaits(t *testing.T) {
	cfg := s.config()
	cfg.PoolSize = 1
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	srv := s.serve(t, cfg, channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		if req.Method == "svc.block" {
			started <- struct{}{}
			<-release
		}
		echo(ctx, req, w)
	}))
	c := s.dial(t, srv.ln.Addr(), cfg)
	ctx := tctx(t)
	mode := s.replyMode()
	// Warm the connection so that a later request reaches a shutting-down listener.
	if _, err := call(ctx, c, &channel.Envelope{Type: channel.TypeRequest, Mode: mode, Method: "svc.echo"}); err != nil {
		t.Fatal(err)
	}
	// The handler replies only after release, in response or (udp) ack mode.
	x := openStarted(t, ctx, c, &channel.Envelope{Type: channel.TypeRequest, Mode: mode, Method: "svc.block", Data: []byte("in flight")}, started)
	shut := make(chan error, 1)
	go func() { shut <- srv.ln.Shutdown(ctx) }()
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v while a handler was running", err)
	case <-time.After(100 * time.Millisecond):
	}
	// A new request during shutdown is refused (unavailable, or the connection is gone).
	if r, err := call(ctx, c, &channel.Envelope{Type: channel.TypeRequest, Mode: mode, Method: "svc.echo"}); err == nil {
		if r.Type != channel.TypeError || r.ErrCode != channel.CodeUnavailable {
			t.Fatalf("request during Shutdown got %s %q, want an error with code %s", r.Type, r.ErrCode, channel.CodeUnavailable)
		}
	}
	close(release)
	r, err := x.Recv(ctx)
	if err != nil {
		t.Fatalf("in-flight request during Shutdown: %v", err)
	}
	if s.caps.Response && (r.Type != channel.TypeResponse || string(r.Data) != "in flight") {
		t.Fatalf("in-flight request got %s %q", r.Type, r.Data)
	}
	select {
	case err := <-shut:
		if err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("Shutdown did not return after the handler finished")
	}
}

func (s *suite) testShutdownHard(t *testing.T) {
	cfg := s.config()
	h, started, cancelled := blocker(1)
	srv := s.serve(t, cfg, h)
	c := s.dial(t, srv.ln.Addr(), cfg)
	ctx := tctx(t)
	openStarted(t, ctx, c, &channel.Envelope{Type: channel.TypeRequest, Mode: s.replyMode(), Method: "svc.block"}, started)
	sctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := srv.ln.Shutdown(sctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown with a handler that never returns: %v, want context.DeadlineExceeded", err)
	}
	await(t, ctx, cancelled, "hard shutdown did not cancel the handler's ctx")
}

func (s *suite) testMaxInFlight(t *testing.T) {
	cfg := s.config()
	cfg.MaxInFlight = 2
	cfg.PoolSize = 1
	started := make(chan struct{}, 4)
	release := make(chan struct{})
	srv := s.serve(t, cfg, channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		started <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
		}
		echo(ctx, req, w)
	}))
	c := s.dial(t, srv.ln.Addr(), cfg)
	ctx := tctx(t)
	mode := s.replyMode()
	var xs []channel.Exchange
	for i := 0; i < cfg.MaxInFlight; i++ {
		x, err := c.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: mode, Method: "svc.block"})
		if err != nil {
			t.Fatal(err)
		}
		defer x.Close()
		xs = append(xs, x)
		await(t, ctx, started, "handler %d did not start", i)
	}
	r, err := call(ctx, c, &channel.Envelope{Type: channel.TypeRequest, Mode: mode, Method: "svc.over"})
	if err != nil {
		t.Fatalf("request over MaxInFlight: %v, want a TypeError reply", err)
	}
	if r.Type != channel.TypeError || r.ErrCode != channel.CodeResourceExhausted {
		t.Fatalf("request over MaxInFlight got %s %q, want error %s", r.Type, r.ErrCode, channel.CodeResourceExhausted)
	}
	select {
	case <-started:
		t.Fatal("the handler ran for a request over MaxInFlight")
	default:
	}
	close(release)
	for i, x := range xs {
		r, err := x.Recv(ctx)
		if err != nil || r.Type == channel.TypeError {
			t.Fatalf("exchange %d: %v %v", i, r, err)
		}
	}
	// Capacity is back.
	if r, err := call(ctx, c, &channel.Envelope{Type: channel.TypeRequest, Mode: mode, Method: "svc.after"}); err != nil || r.Type == channel.TypeError {
		t.Fatalf("call after the in-flight ones finished: %v %v", r, err)
	}
}

func (s *suite) testConnClose(t *testing.T) {
	cfg := s.config()
	srv := s.serve(t, cfg, echo)
	c := s.dial(t, srv.ln.Addr(), cfg)
	ctx := tctx(t)
	if _, err := call(ctx, c, &channel.Envelope{Type: channel.TypeRequest, Mode: s.replyMode(), Method: "svc.echo"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	x, err := c.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: s.replyMode(), Method: "svc.echo"})
	if x != nil {
		x.Close()
	}
	if !errors.Is(err, channel.ErrClosed) {
		t.Fatalf("Open on a closed Conn: %v, want ErrClosed", err)
	}
	if err := srv.ln.Close(); err != nil {
		t.Fatalf("Listener.Close: %v", err)
	}
	if err := srv.ln.Close(); err != nil && !errors.Is(err, channel.ErrClosed) {
		t.Fatalf("second Listener.Close: %v", err)
	}
}

func (s *suite) testConnCloseFailsExchanges(t *testing.T) {
	if !s.caps.Response {
		t.Skip("transport has no exchanges that stay open")
	}
	cfg := s.config()
	h, started, _ := blocker(1)
	srv := s.serve(t, cfg, h)
	c := s.dial(t, srv.ln.Addr(), cfg)
	ctx := tctx(t)
	x := openStarted(t, ctx, c, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse, Method: "svc.block"}, started)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := x.Recv(ctx); !errors.Is(err, channel.ErrClosed) {
		t.Fatalf("Recv on an exchange of a closed Conn: %v, want ErrClosed", err)
	}
}

func (s *suite) testRecvContext(t *testing.T) {
	if !s.caps.Response {
		t.Skip("transport has no exchanges that stay open")
	}
	cfg := s.config()
	release := make(chan struct{})
	srv := s.serve(t, cfg, channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		select {
		case <-release:
		case <-ctx.Done():
		}
	}))
	defer close(release)
	c := s.dial(t, srv.ln.Addr(), cfg)
	x, err := c.Open(tctx(t), &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse, Method: "svc.block"})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	rctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := x.Recv(rctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Recv with an expiring ctx: %v, want context.DeadlineExceeded", err)
	}
	done, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if x2, err := c.Open(done, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse, Method: "svc.block"}); err == nil {
		x2.Close()
		t.Fatal("Open with a cancelled ctx succeeded")
	}
}

func (s *suite) testStreamError(t *testing.T) {
	if !s.caps.Stream {
		t.Skip("transport has no streams")
	}
	cfg := s.config()
	srv := s.serve(t, cfg, channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		w.Send(ctx, &channel.Envelope{Type: channel.TypeItem, Data: []byte("one")})
		w.Send(ctx, &channel.Envelope{Type: channel.TypeError, ErrCode: channel.CodeUnavailable, ErrMessage: "source gone"})
	}))
	c := s.dial(t, srv.ln.Addr(), cfg)
	ctx := tctx(t)
	x, err := c.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeStream, Method: "svc.feed"})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if r, err := x.Recv(ctx); err != nil || r.Type != channel.TypeItem || string(r.Data) != "one" {
		t.Fatalf("first item: %v %v", r, err)
	}
	if r, err := x.Recv(ctx); err != nil || r.Type != channel.TypeError || r.ErrCode != channel.CodeUnavailable || r.ErrMessage != "source gone" {
		t.Fatalf("error: %v %v", r, err)
	}
	if _, err := x.Recv(ctx); err != io.EOF {
		t.Fatalf("Recv after the error: %v, want io.EOF", err)
	}
}

func (s *suite) testPeer(t *testing.T) {
	cfg := s.config()
	peers := make(chan string, 1)
	srv := s.serve(t, cfg, channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		peers <- w.Peer()
		echo(ctx, req, w)
	}))
	c := s.dial(t, srv.ln.Addr(), cfg)
	if _, err := call(tctx(t), c, &channel.Envelope{Type: channel.TypeRequest, Mode: s.replyMode(), Method: "svc.echo"}); err != nil {
		t.Fatal(err)
	}
	if p := <-peers; p == "" {
		t.Error("ReplyWriter.Peer() is empty")
	}
}

// testLateReply: a handler that replies, or returns without a reply, after the caller's
// deadline (the request's Timeout) yields channel.LateReply on every transport: code
// deadline_exceeded and the same message.
func (s *suite) testLateReply(t *testing.T) {
	cfg := s.config()
	const timeout = 50 * time.Millisecond
	srv := s.serve(t, cfg, channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		// The handler waits for the deadline itself (the transport does not apply it),
		// and a little past it.
		dl, cancel := context.WithTimeout(ctx, req.Timeout+10*time.Millisecond)
		defer cancel()
		<-dl.Done()
		if ctx.Err() != nil || strings.HasPrefix(string(req.Data), "silent") {
			return
		}
		switch req.Mode {
		case channel.ModeResponse:
			w.Send(dl, &channel.Envelope{Type: channel.TypeResponse, Data: []byte("late")})
		case channel.ModeAck:
			w.Send(dl, &channel.Envelope{Type: channel.TypeAck})
		case channel.ModeStream:
			w.Send(dl, &channel.Envelope{Type: channel.TypeEnd})
		}
	}))
	c := s.dial(t, srv.ln.Addr(), cfg)
	modes := []channel.Mode{s.replyMode()}
	if s.caps.Response {
		modes = append(modes, channel.ModeAck)
	}
	if s.caps.Stream {
		modes = append(modes, channel.ModeStream)
	}
	var want channel.Envelope
	channel.LateReply(&want, "svc.slow", timeout, "")
	for _, mode := range modes {
		for _, data := range []string{"reply", "silent"} {
			// Padded: udp bounds a reply to 3 times its request, and the error must fit.
			req := &channel.Envelope{Type: channel.TypeRequest, Mode: mode, Method: "svc.slow", Timeout: timeout, Data: []byte(data + strings.Repeat(" ", 64))}
			r, err := call(tctx(t), c, req)
			if err != nil {
				t.Fatalf("%s %s: %v", mode, data, err)
			}
			if r.Type != channel.TypeError || r.ErrCode != channel.CodeDeadlineExceeded || r.ErrMessage != want.ErrMessage {
				t.Errorf("%s %s: got %s %q %q, want error %q %q", mode, data, r.Type, r.ErrCode, r.ErrMessage, want.ErrCode, want.ErrMessage)
			}
		}
	}
}
