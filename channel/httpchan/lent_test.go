package httpchan_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/channeltest"
)

// TestOpenGivesDataBack: a request whose body cannot be written (the peer reads
// nothing) is given up when its context ends; the caller then reuses the data's buffer at
// once, as jesus does with its pooled buffers. The transport, still writing the request
// from its own goroutine, must not read that buffer any more (the race detector watches).
func TestOpenGivesDataBack(t *testing.T) {
	channeltest.CheckLeaks(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	held := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(held)
				return
			}
			held <- c // never read: the client's writes stall once the socket buffers are full
		}
	}()
	defer func() {
		ln.Close()
		for c := range held {
			c.Close()
		}
	}()
	c := dial(t, ln.Addr().String(), channel.Config{MaxMessage: 8 << 20})
	for _, mode := range []channel.Mode{channel.ModeResponse, channel.ModeStream} {
		data := make([]byte, 4<<20)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		_, err := c.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: mode, Method: "svc.put", Data: data})
		cancel()
		if err == nil {
			t.Fatalf("%v: Open of a request nobody reads succeeded", mode)
		}
		for i := range data { // the buffer holds the next message now
			data[i] = byte(i)
		}
	}
	c.Close()
}
