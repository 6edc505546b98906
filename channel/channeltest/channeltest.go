// Package channeltest is the conformance suite that every channel.Transport passes.
// A transport's own tests call Run with a Factory; capability flags read from
// Transport.Caps skip what the transport cannot do and check that it refuses it cleanly.
package channeltest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/jesus-go/jesus/channel"
)

// Factory supplies the transport under test.
type Factory struct {
	// Transport is the transport under test; its Caps decide which cases run.
	Transport channel.Transport
	// Addr returns a fresh listen address, e.g. "127.0.0.1:0" or a socket path in t.TempDir().
	Addr func(t testing.TB) string
	// Config, when set, adjusts the configuration every case starts from (after the
	// suite's own settings), e.g. to raise a timeout on a slow machine.
	Config func(*channel.Config)
}

// Loopback is a Factory.Addr for transports over IP: 127.0.0.1 with a free port.
func Loopback(testing.TB) string { return "127.0.0.1:0" }

// UnixSocket is a Factory.Addr for transports over unix sockets: a socket in the test's
// temporary directory.
func UnixSocket(t testing.TB) string { return filepath.Join(t.TempDir(), "s.sock") }

// wait bounds every blocking step of the suite; nothing in it should take this long.
const wait = 10 * time.Second

// Run runs the conformance suite against f.
//
// The cases, each in its own subtest with a goroutine-leak check:
// request/response round trips (payloads of several sizes and codecs), ack mode,
// noResponse (the handler observes the request and cannot reply), streams with flow
// control, cancellation reaching the handler's context, many concurrent exchanges,
// messages at and over the size limit, a listener closed with requests in flight,
// Shutdown waiting for running handlers, MaxInFlight, and Close semantics.
//
// Caps.Response false means ModeResponse is refused with an error wrapping
// channel.ErrUnsupported (ack mode is still expected to work); Caps.Stream false means
// the same for ModeStream.
func Run(t *testing.T, f Factory) {
	t.Helper()
	if f.Transport == nil || f.Addr == nil {
		t.Fatal("channeltest: Factory needs Transport and Addr")
	}
	s := &suite{f: f, caps: f.Transport.Caps()}
	cases := []struct {
		name string
		fn   func(*testing.T)
	}{
		{"Name", s.testName},
		{"RoundTrip", s.testRoundTrip},
		{"RoundTripCodecs", s.testRoundTripCodecs},
		{"Meta", s.testMeta},
		{"Ack", s.testAck},
		{"NoResponse", s.testNoResponse},
		{"HandlerError", s.testHandlerError},
		{"Stream", s.testStream},
		{"StreamFlowControl", s.testStreamFlowControl},
		{"Cancel", s.testCancel},
		{"Concurrent", s.testConcurrent},
		{"SizeLimit", s.testSizeLimit},
		{"ReplyTooLarge", s.testReplyTooLarge},
		{"ListenerClosedInFlight", s.testListenerClosedInFlight},
		{"ShutdownWaits", s.testShutdownWaits},
		{"ShutdownHard", s.testShutdownHard},
		{"MaxInFlight", s.testMaxInFlight},
		{"ConnClose", s.testConnClose},
		{"ConnCloseFailsExchanges", s.testConnCloseFailsExchanges},
		{"RecvContext", s.testRecvContext},
		{"StreamError", s.testStreamError},
		{"Peer", s.testPeer},
		{"LateReply", s.testLateReply},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			CheckLeaks(t)
			c.fn(t)
		})
	}
}

type suite struct {
	f    Factory
	caps channel.Caps
}

// config is the configuration the suite starts from: defaults with a small stream
// window and message limit so that flow control and limits are quick to reach.
func (s *suite) config() channel.Config {
	c := channel.Config{
		MaxMessage:   256 << 10,
		StreamWindow: 4,
		PoolSize:     2,
	}.WithDefaults()
	if s.caps.MaxMessage > 0 && c.MaxMessage > s.caps.MaxMessage {
		c.MaxMessage = s.caps.MaxMessage
	}
	if s.f.Config != nil {
		s.f.Config(&c)
	}
	return c
}

// limit is the largest encoded envelope the transport accepts under cfg.
func (s *suite) limit(cfg channel.Config) int {
	l := cfg.MaxMessage
	if s.caps.MaxMessage > 0 && s.caps.MaxMessage < l {
		l = s.caps.MaxMessage
	}
	if !s.caps.Reliable && cfg.MaxDatagram > 0 && cfg.MaxDatagram < l {
		l = cfg.MaxDatagram
	}
	return l
}

// replyMode is the mode the suite uses for "a call that gets one reply".
func (s *suite) replyMode() channel.Mode {
	if s.caps.Response {
		return channel.ModeResponse
	}
	return channel.ModeAck
}

// server is a listener serving h, closed when the test ends.
type server struct {
	ln   channel.Listener
	done chan error
}

func (s *suite) serve(t *testing.T, cfg channel.Config, h channel.Handler) *server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	ln, err := s.f.Transport.Listen(ctx, s.f.Addr(t), cfg)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	srv := &server{ln: ln, done: make(chan error, 1)}
	go func() { srv.done <- ln.Serve(h) }()
	t.Cleanup(func() {
		if err := ln.Close(); err != nil && !errors.Is(err, channel.ErrClosed) {
			t.Errorf("Listener.Close: %v", err)
		}
		select {
		case err := <-srv.done:
			if !errors.Is(err, channel.ErrClosed) {
				t.Errorf("Serve returned %v, want an error wrapping ErrClosed", err)
			}
		case <-time.After(wait):
			t.Errorf("Serve did not return %v after Close", wait)
		}
	})
	return srv
}

func (s *suite) dial(t *testing.T, addr string, cfg channel.Config) channel.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := s.f.Transport.Dial(ctx, addr, cfg)
	if err != nil {
		t.Fatalf("Dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// echoSetup serves the echo handler with the suite's config and dials it: the start of
// most cases.
func (s *suite) echoSetup(t *testing.T) (channel.Config, channel.Conn, context.Context) {
	t.Helper()
	cfg := s.config()
	srv := s.serve(t, cfg, echo)
	return cfg, s.dial(t, srv.ln.Addr(), cfg), tctx(t)
}

func tctx(t *testing.T) context.Context { return Context(t, wait) }

// Context is a context that ends after d or when the test ends, whichever comes first:
// the bound of a test's blocking calls.
func Context(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// echo replies to every request with its own data, method in ErrMessage-free form:
// a response (or ack) whose Data is the request's Data and whose Meta is the request's.
var echo = channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
	switch req.Mode {
	case channel.ModeResponse:
		w.Send(ctx, &channel.Envelope{Type: channel.TypeResponse, Codec: req.Codec, Meta: req.Meta, Data: req.Data})
	case channel.ModeAck:
		w.Send(ctx, &channel.Envelope{Type: channel.TypeAck, Meta: req.Meta})
	case channel.ModeStream:
		for i := 0; i < 3; i++ {
			if w.Send(ctx, &channel.Envelope{Type: channel.TypeItem, Data: req.Data}) != nil {
				return
			}
		}
		w.Send(ctx, &channel.Envelope{Type: channel.TypeEnd})
	}
})

// call opens one exchange and returns its single terminal reply (a copy).
func call(ctx context.Context, c channel.Conn, req *channel.Envelope) (*channel.Envelope, error) {
	x, err := c.Open(ctx, req)
	if err != nil {
		return nil, err
	}
	defer x.Close()
	r, err := x.Recv(ctx)
	if err != nil {
		return nil, err
	}
	cp := *r
	cp.Data = append([]byte(nil), r.Data...)
	if _, err := x.Recv(ctx); err != io.EOF {
		return nil, fmt.Errorf("Recv after terminal %s: got %v, want io.EOF", r.Type, err)
	}
	return &cp, nil
}

func payload(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}

func (s *suite) testName(t *testing.T) {
	n := s.f.Transport.Name()
	want, ok := channel.TransportCaps(n)
	if !ok {
		t.Errorf("Name() = %q, want one of %v", n, channel.TransportNames())
	}
	if got := s.caps; got.Response != want.Response || got.Stream != want.Stream || got.Reliable != want.Reliable {
		t.Errorf("%s: Caps() %+v disagree with channel.TransportCaps %+v", n, got, want)
	}
	if !s.caps.Response && !s.caps.Stream {
		t.Logf("%s: datagram-style transport (no response, no stream)", n)
	}
}

func (s *suite) testRoundTrip(t *testing.T) {
	cfg, c, ctx := s.echoSetup(t)
	sizes := []int{0, 1, 256, 4 << 10, 60 << 10}
	for _, n := range sizes {
		if n+256 > s.limit(cfg) {
			continue
		}
		data := payload(n, byte(n))
		req := &channel.Envelope{Type: channel.TypeRequest, Mode: s.replyMode(), Method: "svc.echo", Codec: "raw", Data: data}
		r, err := call(ctx, c, req)
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		s.checkReply(t, r, req)
		if s.caps.Response && string(r.Data) != string(data) {
			t.Fatalf("%d bytes: reply data differs (got %d bytes)", n, len(r.Data))
		}
	}
	if s.caps.Response {
		return
	}
	x, err := c.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse, Method: "svc.echo"})
	if x != nil {
		x.Close()
	}
	if !errors.Is(err, channel.ErrUnsupported) {
		t.Fatalf("Open(ModeResponse) on a transport without responses: %v, want ErrUnsupported", err)
	}
}

// checkReply checks what the transport fills in on every reply.
func (s *suite) checkReply(t *testing.T, r, req *channel.Envelope) {
	t.Helper()
	want := channel.TypeResponse
	if req.Mode == channel.ModeAck {
		want = channel.TypeAck
	}
	if r.Type != want {
		t.Fatalf("reply type %s, want %s (%s %s)", r.Type, want, r.ErrCode, r.ErrMessage)
	}
	if r.Mode != req.Mode && r.Mode != 0 {
		t.Fatalf("reply mode %s, want %s", r.Mode, req.Mode)
	}
}

// Codecs returns the codec names of the payload matrix: every serializer × compressor.
func Codecs() []string {
	var out []string
	for _, s := range []string{"json", "msgpack"} {
		for _, c := range []string{"none", "gzip", "zstd", "s2"} {
			out = append(out, s+"+"+c)
		}
	}
	return out
}

func (s *suite) testRoundTripCodecs(t *testing.T) {
	cfg, c, ctx := s.echoSetup(t)
	for _, name := range Codecs() {
		data, err := encodePayload(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		req := &channel.Envelope{Type: channel.TypeRequest, Mode: s.replyMode(), Method: "svc.echo", Codec: name, Data: data}
		if size := channel.EnvelopeSize(req); size > s.limit(cfg) {
			// A transport with small messages (udp) cannot carry every sample uncompressed;
			// what happens over the limit is the subject of the size tests.
			t.Logf("%s: sample of %d bytes is over this transport's limit of %d; skipped", name, size, s.limit(cfg))
			continue
		}
		r, err := call(ctx, c, req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		s.checkReply(t, r, req)
		if !s.caps.Response {
			continue
		}
		if r.Codec != name {
			t.Fatalf("%s: reply codec %q", name, r.Codec)
		}
		if err := checkPayload(name, r.Data); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

func (s *suite) testMeta(t *testing.T) {
	cfg := s.config()
	got := make(chan *channel.Envelope, 1)
	srv := s.serve(t, cfg, channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		cp := *req
		cp.Data = append([]byte(nil), req.Data...)
		got <- &cp
		echo(ctx, req, w)
	}))
	c := s.dial(t, srv.ln.Addr(), cfg)
	ctx := tctx(t)
	req := &channel.Envelope{
		Type: channel.TypeRequest, Mode: s.replyMode(), Method: "orders.create",
		Timeout: 1500 * time.Millisecond, Codec: "json",
		Meta: channel.Meta{
			CorrID: "c-1", UserID: "u-1", From: "billing@1.2.0", ReqIn: 1700000000000000001, ReqOut: 1700000000000000002,
			Channel: s.f.Transport.Name() + "+json", Trace: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
			Extra: map[string]string{"event-id": "e-9"},
		},
		Data: []byte(`{"n":1}`),
	}
	r, err := call(ctx, c, req)
	if err != nil {
		t.Fatal(err)
	}
	s.checkReply(t, r, req)
	in := <-got
	if in.Type != channel.TypeRequest || in.Mode != req.Mode || in.Method != req.Method || in.Codec != req.Codec {
		t.Errorf("handler saw type %s mode %s method %q codec %q", in.Type, in.Mode, in.Method, in.Codec)
	}
	if in.Timeout != req.Timeout {
		t.Errorf("handler saw timeout %v, want %v", in.Timeout, req.Timeout)
	}
	m, w := in.Meta, req.Meta
	if m.CorrID != w.CorrID || m.UserID != w.UserID || m.From != w.From || m.ReqIn != w.ReqIn || m.ReqOut != w.ReqOut || m.Channel != w.Channel || m.Trace != w.Trace {
		t.Errorf("handler saw meta %+v, want %+v", m, w)
	}
	if !strings.EqualFold(fmt.Sprint(m.Extra), fmt.Sprint(w.Extra)) {
		t.Errorf("handler saw extra %v, want %v", m.Extra, w.Extra)
	}
	if string(in.Data) != string(req.Data) {
		t.Errorf("handler saw data %q", in.Data)
	}
}

func (s *suite) testAck(t *testing.T) {
	cfg := s.config()
	ran := make(chan struct{}, 1)
	srv := s.serve(t, cfg, channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		if err := w.Send(ctx, &channel.Envelope{Type: channel.TypeAck}); err != nil {
			t.Errorf("Send(ack): %v", err)
		}
		if err := w.Send(ctx, &channel.Envelope{Type: channel.TypeAck}); !errors.Is(err, channel.ErrClosed) {
			t.Errorf("Send after terminal ack: %v, want ErrClosed", err)
		}
		ran <- struct{}{}
	}))
	c := s.dial(t, srv.ln.Addr(), cfg)
	ctx := tctx(t)
	req := &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeAck, Method: "svc.ack", Data: []byte("x")}
	r, err := call(ctx, c, req)
	if err != nil {
		t.Fatal(err)
	}
	s.checkReply(t, r, req)
	<-ran
}

func (s *suite) testNoResponse(t *testing.T) {
	cfg := s.config()
	type seen struct {
		req     *channel.Envelope
		sendErr error
	}
	got := make(chan seen, 8)
	srv := s.serve(t, cfg, channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		cp := *req
		cp.Data = append([]byte(nil), req.Data...)
		err := w.Send(ctx, &channel.Envelope{Type: channel.TypeResponse})
		got <- seen{&cp, err}
	}))
	c := s.dial(t, srv.ln.Addr(), cfg)
	ctx := tctx(t)
	// One envelope, data buffer and extra map for all three: Open keeps none of them once
	// it returns, so scribbling over them afterwards must not reach the receiver.
	data, extra := make([]byte, 1), map[string]string{}
	req := &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeNoResponse, Method: "log.write", Data: data, Meta: channel.Meta{Extra: extra}}
	for i := 0; i < 3; i++ {
		data[0], extra["n"] = byte(i), strconv.Itoa(i)
		req.Type, req.Mode, req.Method = channel.TypeRequest, channel.ModeNoResponse, "log.write"
		x, err := c.Open(ctx, req)
		if err != nil || x != nil {
			t.Fatalf("Open(noResponse) = %v, %v; want nil, nil", x, err)
		}
		data[0], extra["n"] = 0xff, "scribbled"
	}
	// udp may lose datagrams; reliable transports deliver all three.
	want := 3
	if !s.caps.Reliable {
		want = 1
	}
	for i := 0; i < want; i++ {
		select {
		case sn := <-got:
			if sn.req.Mode != channel.ModeNoResponse || sn.req.Method != "log.write" {
				t.Fatalf("handler saw mode %s method %q", sn.req.Mode, sn.req.Method)
			}
			if !errors.Is(sn.sendErr, channel.ErrNoReply) {
				t.Fatalf("Send in noResponse mode: %v, want ErrNoReply", sn.sendErr)
			}
			n := sn.req.Meta.Extra["n"]
			if n == "" {
				n = sn.req.Meta.Extra["N"] // http canonicalises header names
			}
			if len(sn.req.Data) != 1 || n != strconv.Itoa(int(sn.req.Data[0])) {
				t.Fatalf("handler saw data %v with extra n=%q: the transport kept the request past Open", sn.req.Data, n)
			}
		case <-ctx.Done():
			t.Fatalf("handler saw %d of %d noResponse requests", i, want)
		}
	}
}

func (s *suite) testHandlerError(t *testing.T) {
	cfg := s.config()
	srv := s.serve(t, cfg, channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		w.Send(ctx, &channel.Envelope{Type: channel.TypeError, ErrCode: "not_found", ErrMessage: "no such order", ErrDetails: []byte(`{"pointer":"/id"}`)})
	}))
	c := s.dial(t, srv.ln.Addr(), cfg)
	r, err := call(tctx(t), c, &channel.Envelope{Type: channel.TypeRequest, Mode: s.replyMode(), Method: "orders.get"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Type != channel.TypeError || r.ErrCode != "not_found" || r.ErrMessage != "no such order" || string(r.ErrDetails) != `{"pointer":"/id"}` {
		t.Fatalf("got %s %q %q %q", r.Type, r.ErrCode, r.ErrMessage, r.ErrDetails)
	}
}

// Serve serves h on ln in a goroutine of its own until the test ends; then it closes ln
// and fails t unless Serve returned an error wrapping channel.ErrClosed.
func Serve(t testing.TB, ln channel.Listener, h channel.Handler) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- ln.Serve(h) }()
	t.Cleanup(func() {
		ln.Close()
		if err := <-done; !errors.Is(err, channel.ErrClosed) {
			t.Errorf("Serve returned %v, want an error wrapping ErrClosed", err)
		}
	})
}

// Eventually waits until cond holds, checking it every few milliseconds, and fails t
// with what when timeout passes first; it returns how long it took. It is for state with
// nothing to wait on (a counter, a cache fed by a watch); where there is a channel or an
// event, wait on that instead. Every test package of the project uses it.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	return EventuallyState(t, timeout, what, func() (bool, string) { return cond(), "" })
}

// EventuallyState is Eventually for a cond that also describes the state it saw: when
// timeout passes first, the failure shows the last description, so that a wait for
// counts to settle says where they stood.
func EventuallyState(t testing.TB, timeout time.Duration, what string, cond func() (ok bool, state string)) time.Duration {
	t.Helper()
	start := time.Now()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, state := cond()
		if ok {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			if state != "" {
				t.Fatalf("timed out after %s waiting for %s; last seen: %s", timeout, what, state)
			} else {
				t.Fatalf("timed out after %s waiting for %s", timeout, what)
			}
			return time.Since(start)
		}
		<-tick.C
	}
}

// CheckLeaks fails t if goroutines started during the test are still running when it ends
// (after every other cleanup has run), with a bounded wait (10 s) for those that are
// finishing. It compares goroutines, not counts (go.uber.org/goleak), so one that ended
// cannot hide one that leaked, and the report shows only the leaked stacks. Every test
// package of the project uses it.
func CheckLeaks(t testing.TB) {
	t.Helper()
	current := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		deadline := time.Now().Add(10 * time.Second)
		for {
			err := goleak.Find(current) // itself retries for a moment
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("goroutine leak: %v", err)
				return
			}
		}
	})
}
