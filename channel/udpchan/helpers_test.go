package udpchan_test

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/channel/udpchan"
)

const wait = 20 * time.Second

func testConfig() channel.Config {
	return channel.Config{RetryInterval: 10 * time.Millisecond}.WithDefaults()
}

type server struct {
	ln   *udpchan.Listener
	done chan error
}

func serve(t *testing.T, tr channel.Transport, cfg channel.Config, h channel.HandlerFunc) *server {
	t.Helper()
	ln, err := tr.Listen(context.Background(), "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{ln: ln.(*udpchan.Listener), done: make(chan error, 1)}
	go func() { s.done <- ln.Serve(h) }()
	t.Cleanup(func() {
		ln.Close()
		if err := <-s.done; !errors.Is(err, channel.ErrClosed) {
			t.Errorf("Serve returned %v, want ErrClosed", err)
		}
	})
	return s
}

func dial(t *testing.T, addr string, cfg channel.Config) *udpchan.Conn {
	t.Helper()
	c, err := udpchan.Dial(context.Background(), addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctxT(t *testing.T) context.Context { return channeltest.Context(t, wait) }

func ack(ctx context.Context, _ *channel.Envelope, w channel.ReplyWriter) {
	w.Send(ctx, &channel.Envelope{Type: channel.TypeAck})
}

func call(ctx context.Context, c channel.Conn, req *channel.Envelope) (*channel.Envelope, error) {
	x, err := c.Open(ctx, req)
	if err != nil {
		return nil, err
	}
	defer x.Close()
	return x.Recv(ctx)
}

// rawConn is a plain udp socket connected to addr, closed when the test ends.
func rawConn(t *testing.T, addr string) net.Conn {
	t.Helper()
	raw, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}

// silentAddr is the address of a bound udp socket that never answers, closed when the
// test ends.
func silentAddr(t *testing.T) string {
	t.Helper()
	sink, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	return sink.LocalAddr().String()
}

// freeAddr is a loopback udp address that nobody listens on: a port that was free a
// moment ago (a send to it gets ICMP port unreachable).
func freeAddr(t *testing.T) string {
	t.Helper()
	probe, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := probe.LocalAddr().String()
	probe.Close()
	return addr
}

// countingAck acks every request and counts the handler's runs in runs.
func countingAck(runs *atomic.Int64) channel.HandlerFunc {
	return func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		runs.Add(1)
		ack(ctx, req, w)
	}
}

// readReply reads one datagram from raw, failing t when none comes within wait, and
// parses it: the envelope, the datagram's size and the parse error.
func readReply(t *testing.T, raw net.Conn) (r *channel.Envelope, n int, err error) {
	t.Helper()
	raw.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 2048)
	n, err = raw.Read(buf)
	if err != nil {
		t.Fatalf("reading a reply: %v", err)
	}
	r = new(channel.Envelope)
	return r, n, channel.ParseEnvelope(buf[:n], r)
}
