package async_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/jesus-go/jesus/gateway/async"
	"github.com/jesus-go/jesus/jesus"
)

// A caller sends a request with an http response hook and goes on; the receiver answers
// when it is done, and the caller's handler runs then.
func Example() {
	ctx := context.Background()

	// The receiver: a method declared with mode ack whose result goes to the hook.
	responder := async.NewResponder(async.ResponderConfig{})
	defer responder.Shutdown(ctx)
	srv := jesus.NewServer("doubler")
	async.Handle(srv, "double", responder, func(ctx context.Context, n int) (int, error) {
		return 2 * n, nil
	})
	bound, _ := srv.Listen(ctx, "tcp+json://127.0.0.1:0")
	defer srv.Close()

	// The caller: a tracker whose hook is a URL it serves.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	tracker, _ := async.NewTracker(async.TrackerConfig{Hook: "http://" + ln.Addr().String() + "/answers"})
	hs := &http.Server{Handler: tracker.HTTPHandler()}
	go hs.Serve(ln)
	defer hs.Close()
	client := jesus.NewClient("caller", jesus.WithTarget(bound.String()), jesus.WithInterceptors(async.Interceptor()))
	defer client.Close()

	done := make(chan int, 1)
	_, err := tracker.Send(ctx, client, "doubler.double", 21, async.Request{
		Timeout: 5 * time.Second,
		OnSuccess: func(ctx context.Context, a *async.Answer, tracked bool) {
			var n int
			a.Decode(&n)
			done <- n
		},
	})
	fmt.Println("sent:", err)
	fmt.Println("answer:", <-done)
	tracker.Shutdown(ctx)
	// Output:
	// sent: <nil>
	// answer: 42
}
