package framed_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/framed"
)

func Example() {
	ctx := context.Background()
	tr := framed.TCP()

	ln, err := tr.Listen(ctx, "127.0.0.1:0", channel.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	served := make(chan error, 1)
	go func() {
		served <- ln.Serve(channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
			w.Send(ctx, &channel.Envelope{Type: channel.TypeResponse, Data: append([]byte("hello, "), req.Data...)})
		}))
	}()

	conn, err := tr.Dial(ctx, ln.Addr(), channel.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	x, err := conn.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse, Method: "greeter.hello", Data: []byte("world")})
	if err != nil {
		fmt.Println(err)
		return
	}
	reply, err := x.Recv(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(reply.Type, string(reply.Data))
	x.Close()

	conn.Close()
	ln.Shutdown(ctx)
	fmt.Println(errors.Is(<-served, channel.ErrClosed))
	// Output:
	// response hello, world
	// true
}
