package channeltest

import (
	"context"
	"testing"

	"github.com/jesus-go/jesus/channel"
)

// ReadStream opens an exchange for req (a ModeStream request) on c, reads it to its end
// and fails t, naming what, on an error or when the stream does not carry exactly want
// items before its end.
func ReadStream(t testing.TB, ctx context.Context, c channel.Conn, req *channel.Envelope, want int, what string) {
	t.Helper()
	x, err := c.Open(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	for i := 0; ; i++ {
		r, err := x.Recv(ctx)
		if err != nil {
			t.Fatalf("%s, item %d: %v", what, i, err)
		}
		if r.Type == channel.TypeEnd {
			if i != want {
				t.Fatalf("%s: end after %d items, want %d", what, i, want)
			}
			return
		}
	}
}
