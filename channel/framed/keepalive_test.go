package framed_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/channel/framed"
)

// A slow handler on an otherwise idle connection: pings keep it open on both sides.
func TestKeepAliveKeepsSlowCallsAlive(t *testing.T) {
	cfg := channel.Config{KeepAlive: 30 * time.Millisecond}
	ln := serveOn(t, context.Background(), framed.TCP(), "127.0.0.1:0", cfg, channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		select {
		case <-time.After(300 * time.Millisecond): // ten keep-alive periods of silence
		case <-ctx.Done():
			return
		}
		w.Send(ctx, &channel.Envelope{Type: channel.TypeResponse, Data: []byte("late")})
	}))
	c, err := framed.TCP().Dial(context.Background(), ln.Addr(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	x, err := c.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	r, err := x.Recv(ctx)
	if err != nil || string(r.Data) != "late" {
		t.Fatalf("slow call across keep-alive periods: %v %v", r, err)
	}
}

// A server that completes the preface and then goes silent: the client's pings go
// unanswered, and its open exchanges fail instead of hanging.
func TestKeepAliveDetectsDeadServer(t *testing.T) {
	channeltest.CheckLeaks(t)
	nl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer nl.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		nc, err := nl.Accept()
		if err != nil {
			close(accepted)
			return
		}
		var p [6]byte
		io.ReadFull(nc, p[:])
		nc.Write(prefaceBytes)
		go io.Copy(io.Discard, bufio.NewReader(nc)) // reads, never answers; ends when nc closes
		accepted <- nc
	}()
	c, err := framed.TCP().Dial(context.Background(), nl.Addr().String(), channel.Config{KeepAlive: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	x, err := c.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse})
	if err != nil {
		t.Fatal(err)
	}
	nc := <-accepted
	if nc == nil {
		t.Fatal("accept failed")
	}
	defer nc.Close()
	if _, err := x.Recv(ctx); !errors.Is(err, channel.ErrClosed) {
		t.Fatalf("Recv from a silent server: %v, want ErrClosed after the keep-alive gave up", err)
	}
	x.Close()
	c.Close()
	nc.Close()
}

func TestServeTwiceAndAfterClose(t *testing.T) {
	ln, err := framed.TCP().Listen(context.Background(), "127.0.0.1:0", channel.Config{})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- ln.Serve(benchEcho) }()
	c, err := framed.TCP().Dial(context.Background(), ln.Addr(), channel.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	checkCall(t, c) // Serve is running
	if err := ln.Serve(benchEcho); err == nil || errors.Is(err, channel.ErrClosed) {
		t.Fatalf("second Serve: %v, want a usage error", err)
	}
	ln.Close()
	if err := <-served; !errors.Is(err, channel.ErrClosed) {
		t.Fatalf("Serve after Close returned %v", err)
	}
	if err := ln.Serve(benchEcho); !errors.Is(err, channel.ErrClosed) {
		t.Fatalf("Serve on a closed listener: %v", err)
	}
	if err := ln.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown after Close: %v", err)
	}
}

// Shutdown returns when its ctx ends even if a handler is slow to honour its cancelled
// ctx; Close then waits for that handler.
func TestShutdownReturnsOnTime(t *testing.T) {
	channeltest.CheckLeaks(t)
	ln, err := framed.TCP().Listen(context.Background(), "127.0.0.1:0", channel.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := ln.Serve(nil); err == nil {
		t.Fatal("Serve(nil) succeeded")
	}
	started, release := make(chan struct{}), make(chan struct{})
	served := make(chan error, 1)
	go func() {
		served <- ln.Serve(channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
			close(started)
			<-release // ignores ctx on purpose
		}))
	}()
	c, err := framed.TCP().Dial(context.Background(), ln.Addr(), channel.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	x, err := c.Open(context.Background(), &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- ln.Shutdown(ctx) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Shutdown: %v, want context.DeadlineExceeded", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not return after its ctx ended")
	}
	close(release)
	ln.Close()
	<-served
	c.Close()
}
