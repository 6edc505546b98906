package channeltest

import (
	"context"
	"fmt"
	"testing"

	"github.com/jesus-go/jesus/channel"
)

// ReadStream opens an exchange for req (a ModeStream request) on c, reads it to its end
// and fails t, naming what, on an error or when the stream does not carry exactly want
// items before its end.
func ReadStream(t testing.TB, ctx context.Context, c channel.Conn, req *channel.Envelope, want int, what string) {
	t.Helper()
	n, err := CountStream(ctx, c, req)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if n != want {
		t.Fatalf("%s: end after %d items, want %d", what, n, want)
	}
}

// CountStream opens an exchange for req (a ModeStream request) on c and reads it to its
// end: it returns how many messages came before the end, or the error that cut it short.
func CountStream(ctx context.Context, c channel.Conn, req *channel.Envelope) (int, error) {
	x, err := c.Open(ctx, req)
	if err != nil {
		return 0, err
	}
	defer x.Close()
	for i := 0; ; i++ {
		r, err := x.Recv(ctx)
		if err != nil {
			return i, fmt.Errorf("item %d: %w", i, err)
		}
		if r.Type == channel.TypeEnd {
			return i, nil
		}
	}
}

// SizedCall returns a function that makes one call of req (a ModeResponse request, copied
// for each call) on c and fails unless the reply carries as many data bytes as req: the
// unit of the transports' round-trip benchmarks.
func SizedCall(ctx context.Context, c channel.Conn, req channel.Envelope) func() error {
	return func() error {
		r := req
		x, err := c.Open(ctx, &r)
		if err != nil {
			return err
		}
		reply, err := x.Recv(ctx)
		if err == nil && len(reply.Data) != len(req.Data) {
			err = fmt.Errorf("reply of %d bytes", len(reply.Data))
		}
		x.Close()
		return err
	}
}
