package httpchan_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/httpchan"
)

// leakCheck fails t if goroutines started during the test are still running when it ends.
// Call it first so that its cleanup runs last.
func leakCheck(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Errorf("goroutine leak: %d before, %d after\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
				return
			}
			time.Sleep(10 * time.Millisecond) // polling a counter: there is nothing to wait on
		}
	})
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// serve starts an http listener on a free loopback port, closed when the test ends.
func serve(t *testing.T, cfg channel.Config, h channel.Handler) channel.Listener {
	t.Helper()
	ln, err := httpchan.New().Listen(testCtx(t), "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- ln.Serve(h) }()
	t.Cleanup(func() {
		ln.Close()
		if err := <-done; !errors.Is(err, channel.ErrClosed) {
			t.Errorf("Serve returned %v, want ErrClosed", err)
		}
	})
	return ln
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
