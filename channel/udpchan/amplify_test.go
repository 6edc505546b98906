package udpchan_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/channel/udpchan"
)

// codes is the closed set of error codes a reply can carry.
var codes = []string{
	"canceled", "unknown", "invalid_argument", "deadline_exceeded", "not_found", "already_exists",
	"permission_denied", "resource_exhausted", "failed_precondition", "unimplemented", "internal",
	"unavailable", "unauthenticated", "incompatible", "bad_response",
}

// exchange sends req from raw sends times (the first runs the handler, the others are
// duplicates answered from the dedup cache) and returns the bytes sent and received; it
// fails when a reply exceeds 3 times its request.
func exchange(t *testing.T, raw net.Conn, req []byte, sends int) (in, out int) {
	t.Helper()
	buf := make([]byte, 65536)
	for i := 0; i < sends; i++ {
		if _, err := raw.Write(req); err != nil {
			t.Fatal(err)
		}
		raw.SetReadDeadline(time.Now().Add(wait))
		n, err := raw.Read(buf)
		if err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		var r channel.Envelope
		if err := channel.ParseEnvelope(buf[:n], &r); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		if n > 3*len(req) {
			t.Fatalf("send %d: %d-byte %s %q reply to a %d-byte request: over 3x", i, n, r.Type, r.ErrCode, len(req))
		}
		in, out = in+len(req), out+n
	}
	return in, out
}

// Every reply, for every code and for the cached replies to duplicates, is at most 3
// times the size of the request it answers (PROTOCOL.md §5.2), so a spoofed source
// cannot make a listener reflect a larger flood.
func TestRepliesWithinAmplificationBound(t *testing.T) {
	channeltest.CheckLeaks(t)
	long := strings.Repeat("the request fails its schema at /items/0/sku: expected string, but got number; ", 2)
	srv := serve(t, udpchan.New(), testConfig(), func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		meta := channel.Meta{CorrID: "c-0123456789abcdef", From: "orders@1.2.0", Extra: map[string]string{"k": strings.Repeat("v", 80)}}
		if req.Method == "orders.ack" {
			w.Send(ctx, &channel.Envelope{Type: channel.TypeAck, Meta: meta})
			return
		}
		code := strings.TrimPrefix(req.Method, "orders.")
		if code == "submit" {
			code = "invalid_argument"
		}
		w.Send(ctx, &channel.Envelope{Type: channel.TypeError, Meta: meta, ErrCode: code, ErrMessage: code + ": " + long,
			ErrDetails: []byte(`[{"pointer":"/items/0/sku","message":"expected string, but got number"}]`)})
	})
	raw := rawConn(t, srv.ln.Addr())
	id := uint64(1 << 28)
	send := func(method string, mode channel.Mode, sends int) (int, int, int) {
		id++
		if method == "orders.submit" {
			id = 1 // the smallest request: a one-byte id
		}
		req := channel.AppendEnvelope(nil, &channel.Envelope{Type: channel.TypeRequest, Mode: mode, ID: id, Method: method, Data: []byte("{}")})
		in, out := exchange(t, raw, req, sends)
		return len(req), in, out
	}
	for _, c := range append(codes, "ack") {
		size, in, out := send("orders."+c, channel.ModeAck, 21)
		t.Logf("%-20s request %d bytes, 21 sends: %d bytes in, %d out", c, size, in, out)
	}
	// The figure of the report that found the reflection: 201 sends of one request.
	size, in, out := send("orders.submit", channel.ModeAck, 201)
	t.Logf("orders.submit invalid_argument: request %d bytes, 201 sends: %d bytes in, %d out (%.1fx)", size, in, out, float64(out)/float64(in))
	// Errors the transport sends on its own.
	id = 2 << 28
	size, in, out = send("orders.get", channel.ModeResponse, 3)
	t.Logf("unimplemented (response mode): request %d bytes, 3 sends: %d bytes in, %d out", size, in, out)
	if st := srv.ln.Stats(); st.Trimmed == 0 {
		t.Errorf("Stats.Trimmed = 0 after cut-down replies: %+v", st)
	}
}
