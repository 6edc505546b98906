package httpchan_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/channeltest"
)

// A server that is not a jesus receiver (say one that took the port of an instance that is
// gone) and answers every POST with a success status of its own: its reply is never
// taken for an ack or a response. An ack is 202 alone, a response 200 alone; any other
// 2xx fails the call as a malformed reply, which the layer above treats like an address
// where nothing listens (unavailable: try another instance).
func TestForeignSuccessIsNoReply(t *testing.T) {
	channeltest.CheckLeaks(t)
	cases := []struct {
		mode   channel.Mode
		status int
		want   channel.Type // 0: the call fails
	}{
		{channel.ModeAck, http.StatusOK, 0},
		{channel.ModeAck, http.StatusCreated, 0},
		{channel.ModeAck, http.StatusNoContent, 0},
		{channel.ModeAck, http.StatusAccepted, channel.TypeAck},
		{channel.ModeResponse, http.StatusAccepted, 0},
		{channel.ModeResponse, http.StatusNoContent, 0},
		{channel.ModeResponse, http.StatusOK, channel.TypeResponse},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s/%d", tc.mode, tc.status), func(t *testing.T) {
			addr := foreignServer(t, tc.status)
			c := dial(t, addr, channel.Config{})
			ctx := testCtx(t)
			x, err := c.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: tc.mode, Method: "billing.event:order.created", Codec: "json", Data: []byte("{}")})
			if err != nil {
				t.Fatal(err)
			}
			defer x.Close()
			e, err := x.Recv(ctx)
			if tc.want == 0 {
				if err == nil {
					t.Fatalf("a %d reply to a %s request was taken as a %s", tc.status, tc.mode, e.Type)
				}
				if !errors.Is(err, channel.ErrMalformed) {
					t.Fatalf("error %v, want one that wraps ErrMalformed", err)
				}
				return
			}
			if err != nil || e.Type != tc.want {
				t.Fatalf("got %v %v, want a %s", e, err, tc.want)
			}
		})
	}
}

// foreignServer starts a plain HTTP server on a free loopback port that answers every
// request with status and an empty body, stopped when the test ends.
func foreignServer(t *testing.T, status int) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(status)
	})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		hs.Serve(ln)
	}()
	t.Cleanup(func() {
		hs.Close()
		<-done
	})
	return ln.Addr().String()
}
