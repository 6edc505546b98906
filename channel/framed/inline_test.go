package framed_test

import (
	"context"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/channel/framed"
)

// A request that arrives on an idle connection runs on the connection's reader; one
// that blocks there must not hold up the requests behind it on the same connection,
// nor a cancel for itself.
func TestBlockedHandlerDoesNotStopReading(t *testing.T) {
	channeltest.CheckLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ln, err := framed.TCP().Listen(ctx, "127.0.0.1:0", channel.Config{})
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	served := make(chan error, 1)
	go func() {
		served <- ln.Serve(channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
			switch req.Method {
			case "block": // waits for a later request on the same connection
				select {
				case <-release:
				case <-ctx.Done():
					return
				}
			case "release":
				close(release)
			case "wait-cancel": // waits for its own cancel, which the reader must see
				<-ctx.Done()
				return
			}
			w.Send(ctx, &channel.Envelope{Type: channel.TypeResponse, Data: req.Data})
		}))
	}()
	c, err := framed.TCP().Dial(ctx, ln.Addr(), channel.Config{PoolSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	open := func(method string) channel.Exchange {
		t.Helper()
		x, err := c.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse, Method: method, Data: []byte(method)})
		if err != nil {
			t.Fatalf("Open %s: %v", method, err)
		}
		return x
	}
	recv := func(x channel.Exchange, want string) {
		t.Helper()
		r, err := x.Recv(ctx)
		if err != nil || string(r.Data) != want {
			t.Fatalf("Recv %s: %v %v", want, r, err)
		}
		x.Close()
	}
	checkCall(t, c) // dialled and idle
	for range 3 {
		release = make(chan struct{})
		blocked := open("block")
		recv(open("release"), "release")
		recv(blocked, "block")
	}
	for range 3 {
		x := open("wait-cancel")
		x.Close() // sends the cancel; the handler returns once the server reads it
		checkCall(t, c)
	}
	c.Close()
	ln.Close()
	<-served
}
