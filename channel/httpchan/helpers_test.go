package httpchan_test

import (
	"context"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/channel/httpchan"
)

func testCtx(t *testing.T) context.Context { return channeltest.Context(t, 10*time.Second) }

// serve starts an http listener on a free loopback port, closed when the test ends.
func serve(t *testing.T, cfg channel.Config, h channel.Handler) channel.Listener {
	t.Helper()
	ln, err := httpchan.New().Listen(testCtx(t), "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	channeltest.Serve(t, ln, h)
	return ln
}

// serveOwn starts an http listener on a free loopback port serving h, for a test that
// shuts it down itself: it returns what Serve returned (closed anyway when the test ends).
func serveOwn(t *testing.T, h channel.Handler) (channel.Listener, <-chan error) {
	t.Helper()
	ln, err := httpchan.New().Listen(testCtx(t), "127.0.0.1:0", channel.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	served := make(chan error, 1)
	go func() { served <- ln.Serve(h) }()
	return ln, served
}

func dial(t *testing.T, addr string, cfg channel.Config) channel.Conn {
	t.Helper()
	c, err := httpchan.New().Dial(testCtx(t), addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// respond replies to response-mode requests with the request's data and codec.
var respond = channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
	w.Send(ctx, &channel.Envelope{Type: channel.TypeResponse, Codec: req.Codec, Meta: req.Meta, Data: req.Data})
})

// openBlocked opens a response call to svc.block, closed when the test ends, and returns
// once its handler has signalled started.
func openBlocked(t *testing.T, ctx context.Context, c channel.Conn, started <-chan struct{}) channel.Exchange {
	t.Helper()
	x, err := c.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse, Method: "svc.block"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	<-started
	return x
}

// fullListener is a listener with MaxInFlight 1 whose one slot is taken by x, a response
// call on c that its handler holds until release is closed. started gets a signal each
// time the handler runs again (a noResponse request returns at once).
type fullListener struct {
	ln      channel.Listener
	c       channel.Conn
	x       channel.Exchange
	started chan struct{}
	release chan struct{}
}

func fillListener(t *testing.T, ctx context.Context) *fullListener {
	t.Helper()
	f := &fullListener{started: make(chan struct{}, 1), release: make(chan struct{})}
	f.ln = serve(t, channel.Config{MaxInFlight: 1}, channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		f.started <- struct{}{}
		if req.Mode == channel.ModeNoResponse {
			return
		}
		<-f.release
		respond(ctx, req, w)
	}))
	f.c = dial(t, f.ln.Addr(), channel.Config{})
	f.x = openBlocked(t, ctx, f.c, f.started)
	return f
}

// ranAgain fails t if the handler ran for anything after the call that fills the slot.
func (f *fullListener) ranAgain(t *testing.T) {
	t.Helper()
	select {
	case <-f.started:
		t.Fatal("the handler ran a request over MaxInFlight")
	default:
	}
}
