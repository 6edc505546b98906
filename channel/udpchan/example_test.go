package udpchan_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/udpchan"
)

// An event sent in ack mode: the client retransmits until the receiver's handler acks,
// and the receiver's handler sees it once however many copies arrive.
func Example() {
	ctx := context.Background()
	tr := udpchan.New()
	ln, err := tr.Listen(ctx, "127.0.0.1:0", channel.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ln.Close()
	go ln.Serve(channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		fmt.Printf("handler: %s %s\n", req.Method, req.Data)
		w.Send(ctx, &channel.Envelope{Type: channel.TypeAck}) // accepted
	}))

	c, err := tr.Dial(ctx, ln.Addr(), channel.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	x, err := c.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeAck, Method: "orders.created", Codec: "json", Data: []byte(`{"id":7}`)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer x.Close()
	r, err := x.Recv(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("client:", r.Type)
	// Output:
	// handler: orders.created {"id":7}
	// client: ack
}

// Messages that do not fit one datagram are refused before anything is sent.
func Example_tooLarge() {
	ctx := context.Background()
	c, err := udpchan.Dial(ctx, "127.0.0.1:9", channel.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	_, err = c.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeNoResponse, Method: "log.write", Data: make([]byte, 2000)})
	fmt.Println(errors.Is(err, channel.ErrTooLarge))
	fmt.Println(err)

	_, err = c.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse, Method: "orders.get"})
	fmt.Println(err)
	// Output:
	// true
	// channel: udp datagram of 2020 bytes exceeds the limit of 1400 bytes; use a tcp or http channel for messages this large
	// udpchan: response mode refused (udp carries noResponse and ack only; response and stream need tcp, unix or http): channel: not supported by this transport
}
