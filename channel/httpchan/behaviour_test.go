package httpchan_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/channel/httpchan"
)

func call(t *testing.T, c channel.Conn, req *channel.Envelope) *channel.Envelope {
	t.Helper()
	ctx := testCtx(t)
	x, err := c.Open(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	r, err := x.Recv(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cp := *r
	if _, err := x.Recv(ctx); err != io.EOF {
		t.Fatalf("Recv after %s: %v, want io.EOF", r.Type, err)
	}
	return &cp
}

// TestKeepAlive: sequential calls travel over one connection.
func TestKeepAlive(t *testing.T) {
	channeltest.CheckLeaks(t)
	peers := make(chan string, 20)
	ln := serve(t, channel.Config{}, channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		peers <- w.Peer()
		respond(ctx, req, w)
	}))
	c := dial(t, ln.Addr(), channel.Config{})
	for i := 0; i < 20; i++ {
		data := []byte(fmt.Sprint(i))
		r := call(t, c, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse, Method: "svc.echo", Codec: "json", Data: data})
		if r.Type != channel.TypeResponse || string(r.Data) != string(data) || r.Codec != "json" {
			t.Fatalf("call %d: %s %q %q", i, r.Type, r.Data, r.Codec)
		}
	}
	first := <-peers
	for i := 1; i < 20; i++ {
		if p := <-peers; p != first {
			t.Fatalf("call %d came from %s, the first from %s: the connection was not reused", i, p, first)
		}
	}
}

// TestNoResponse: Open returns once the request is written, before the handler ends;
// the server answers 204 at once.
func TestNoResponse(t *testing.T) {
	channeltest.CheckLeaks(t)
	release := make(chan struct{})
	ran := make(chan struct{})
	ln := serve(t, channel.Config{}, channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		<-release
		close(ran)
	}))
	c := dial(t, ln.Addr(), channel.Config{})
	x, err := c.Open(testCtx(t), &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeNoResponse, Method: "log.write", Data: []byte("x")})
	if x != nil || err != nil {
		t.Fatalf("Open = %v, %v", x, err)
	}
	close(release)
	<-ran
	// A plain client sees 204 while the handler still runs.
	release2 := make(chan struct{})
	ln2 := serve(t, channel.Config{}, channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		<-release2
	}))
	defer close(release2)
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	req, _ := http.NewRequest("POST", "http://"+ln2.Addr()+"/log.write", strings.NewReader("{}"))
	req.Header.Set("Jesus-Mode", "noResponse")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("status %d, want 204", resp.StatusCode)
	}
}

// TestAck: 202 comes before the handler ends; Shutdown waits for the handler.
func TestAck(t *testing.T) {
	channeltest.CheckLeaks(t)
	release := make(chan struct{})
	ln, served := serveOwn(t, channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		w.Send(ctx, &channel.Envelope{Type: channel.TypeAck, Meta: channel.Meta{CorrID: req.Meta.CorrID}})
		<-release
	}))
	c := dial(t, ln.Addr(), channel.Config{})
	r := call(t, c, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeAck, Method: "orders.placed", Meta: channel.Meta{CorrID: "c-7"}})
	if r.Type != channel.TypeAck || r.Meta.CorrID != "c-7" {
		t.Fatalf("got %s corrid %q", r.Type, r.Meta.CorrID)
	}
	c.Close()
	shut := make(chan error, 1)
	go func() { shut <- ln.Shutdown(testCtx(t)) }()
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v while an acknowledged handler ran", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-served; !errors.Is(err, channel.ErrClosed) {
		t.Fatalf("Serve: %v", err)
	}
}

// TestRecvContext: a Recv whose ctx ends returns its error and cancels the call.
func TestRecvContext(t *testing.T) {
	channeltest.CheckLeaks(t)
	cancelled := make(chan struct{})
	ln := serve(t, channel.Config{}, channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		w.Send(ctx, &channel.Envelope{Type: channel.TypeItem})
		<-ctx.Done()
		close(cancelled)
	}))
	c := dial(t, ln.Addr(), channel.Config{})
	x, err := c.Open(testCtx(t), &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeStream, Method: "svc.block"})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if r, err := x.Recv(testCtx(t)); err != nil || r.Type != channel.TypeItem {
		t.Fatalf("first item: %v %v", r, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := x.Recv(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Recv: %v, want DeadlineExceeded", err)
	}
	<-cancelled
}

// fakeServer answers every request with fn, over a real loopback socket.
func fakeServer(t *testing.T, fn http.HandlerFunc) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: fn}
	done := make(chan struct{})
	go func() { srv.Serve(l); close(done) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return l.Addr().String()
}

func frame(b []byte) []byte {
	return binary.BigEndian.AppendUint32(nil, uint32(len(b)))
}

// TestHostileReplies: garbage from a server gives the client clear errors, never a
// panic or an unbounded allocation.
func TestHostileReplies(t *testing.T) {
	channeltest.CheckLeaks(t)
	item := channel.AppendEnvelope(nil, &channel.Envelope{Type: channel.TypeItem, Data: []byte("ok")})
	req := channel.AppendEnvelope(nil, &channel.Envelope{Type: channel.TypeRequest})
	cases := []struct {
		name   string
		mode   channel.Mode
		status int
		ctype  string
		body   []byte
		want   string // substring of the error; "" when a TypeError reply is expected
		code   string
	}{
		{"huge frame", channel.ModeStream, 200, "application/vnd.jesus.stream", []byte{0xff, 0xff, 0xff, 0xff, 1}, "exceeds the limit", ""},
		{"empty frame", channel.ModeStream, 200, "application/vnd.jesus.stream", []byte{0, 0, 0, 0}, "empty stream frame", ""},
		{"short header", channel.ModeStream, 200, "application/vnd.jesus.stream", []byte{0, 0}, "inside a frame header", ""},
		{"short frame", channel.ModeStream, 200, "application/vnd.jesus.stream", append(frame(make([]byte, 100)), 1, 2, 3), "inside a frame", ""},
		{"garbage envelope", channel.ModeStream, 200, "application/vnd.jesus.stream", append(frame(make([]byte, 8)), make([]byte, 8)...), "malformed", ""},
		{"request in stream", channel.ModeStream, 200, "application/vnd.jesus.stream", append(frame(req), req...), "request envelope in a stream", ""},
		{"no end", channel.ModeStream, 200, "application/vnd.jesus.stream", append(append(frame(item), item...), append(frame(item), item...)...), "without an end", ""},
		{"huge response", channel.ModeResponse, 200, "application/json", []byte(strings.Repeat("x", 5000)), "exceeds the limit of 4096", ""},
		{"proxy error", channel.ModeResponse, 502, "text/html", []byte("<html>bad gateway</html>"), "", "unavailable"},
		{"error with bad json", channel.ModeResponse, 409, "application/json", []byte("{"), "", "already_exists"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			addr := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
				// The body of a stream call goes on with credit grants: answer without
				// waiting for its end, as a jesus server does.
				http.NewResponseController(w).EnableFullDuplex()
				w.Header().Set("Content-Type", c.ctype)
				w.WriteHeader(c.status)
				w.Write(c.body)
			})
			conn := dial(t, addr, channel.Config{MaxMessage: 4096})
			ctx := testCtx(t)
			x, err := conn.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: c.mode, Method: "m"})
			if err != nil {
				t.Fatal(err)
			}
			defer x.Close()
			var got error
			for i := 0; i < 5; i++ {
				r, err := x.Recv(ctx)
				if err != nil {
					got = err
					break
				}
				if r.Type == channel.TypeError {
					if c.code == "" || r.ErrCode != c.code {
						t.Fatalf("error reply %q %q, want code %q", r.ErrCode, r.ErrMessage, c.code)
					}
					return
				}
			}
			if c.want == "" || got == nil || !strings.Contains(got.Error(), c.want) || !strings.HasPrefix(got.Error(), "httpchan: ") && !strings.HasPrefix(got.Error(), "channel: ") {
				t.Fatalf("got %v, want an error containing %q", got, c.want)
			}
		})
	}
}

// TestExchangeCloseCancels: closing an exchange before its reply ends the handler's ctx.
func TestExchangeCloseCancels(t *testing.T) {
	channeltest.CheckLeaks(t)
	started := make(chan struct{})
	cancelled := make(chan struct{})
	ln := serve(t, channel.Config{}, channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		close(started)
		<-ctx.Done()
		close(cancelled)
	}))
	c := dial(t, ln.Addr(), channel.Config{})
	x, err := c.Open(testCtx(t), &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse, Method: "svc.block"})
	if err != nil {
		t.Fatal(err)
	}
	<-started
	x.Close()
	<-cancelled
	if _, err := x.Recv(testCtx(t)); !errors.Is(err, channel.ErrClosed) {
		t.Fatalf("Recv after Close: %v, want ErrClosed", err)
	}
}

// TestStreamWithoutFlowControl: a plain client (no Jesus-Stream-Window) reads a stream
// body of frames, paced by TCP alone.
func TestStreamWithoutFlowControl(t *testing.T) {
	channeltest.CheckLeaks(t)
	ln := serve(t, channel.Config{}, channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		for i := 0; i < 3; i++ {
			w.Send(ctx, &channel.Envelope{Type: channel.TypeItem, Codec: "json", Data: []byte(fmt.Sprint(i))})
		}
		w.Send(ctx, &channel.Envelope{Type: channel.TypeEnd})
	}))
	req, _ := http.NewRequest("POST", "http://"+ln.Addr()+"/svc.count", nil)
	req.Header.Set("Jesus-Mode", "stream")
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/vnd.jesus.stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	body, _ := io.ReadAll(resp.Body)
	var types []channel.Type
	for len(body) >= 4 {
		n := binary.BigEndian.Uint32(body)
		var e channel.Envelope
		if err := channel.ParseEnvelope(body[4:4+n], &e); err != nil {
			t.Fatal(err)
		}
		if e.Type == channel.TypeItem && (string(e.Data) != fmt.Sprint(len(types)) || e.Codec != "json" || e.Mode != channel.ModeStream) {
			t.Fatalf("item %d: %q %q %s", len(types), e.Data, e.Codec, e.Mode)
		}
		types = append(types, e.Type)
		body = body[4+n:]
	}
	if fmt.Sprint(types) != "[item item item end]" || len(body) != 0 {
		t.Fatalf("frames %v, %d bytes left", types, len(body))
	}
}

// TestReadTimeoutSparesStreams: ReadTimeout bounds reading the request only; a stream
// that runs longer is not cut off.
func TestReadTimeoutSparesStreams(t *testing.T) {
	channeltest.CheckLeaks(t)
	const readTimeout = 100 * time.Millisecond
	ln := serve(t, channel.Config{ReadTimeout: readTimeout}, channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		tick := time.NewTicker(readTimeout / 2)
		defer tick.Stop()
		for i := 0; i < 6; i++ { // three read timeouts long
			select {
			case <-tick.C:
			case <-ctx.Done():
				return
			}
			if err := w.Send(ctx, &channel.Envelope{Type: channel.TypeItem, Data: []byte{byte(i)}}); err != nil {
				return
			}
		}
		w.Send(ctx, &channel.Envelope{Type: channel.TypeEnd})
	}))
	c := dial(t, ln.Addr(), channel.Config{})
	ctx := testCtx(t)
	channeltest.ReadStream(t, ctx, c, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeStream, Method: "svc.slow"}, 6, "stream longer than ReadTimeout")
}

// TestConnCloseInFlight: closing the Conn ends a pending Recv with ErrClosed.
func TestConnCloseInFlight(t *testing.T) {
	channeltest.CheckLeaks(t)
	started := make(chan struct{})
	ln := serve(t, channel.Config{}, channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		close(started)
		<-ctx.Done()
	}))
	c := dial(t, ln.Addr(), channel.Config{})
	ctx := testCtx(t)
	x := openBlocked(t, ctx, c, started)
	got := make(chan error, 1)
	go func() {
		_, err := x.Recv(ctx)
		got <- err
	}()
	c.Close()
	if err := <-got; !errors.Is(err, channel.ErrClosed) {
		t.Fatalf("Recv after Conn.Close: %v, want ErrClosed", err)
	}
	if _, err := c.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse, Method: "a"}); !errors.Is(err, channel.ErrClosed) {
		t.Fatalf("Open after Close: %v", err)
	}
}

// TestMaxInFlightCurl: over the listener's MaxInFlight a plain client gets 429.
func TestMaxInFlightCurl(t *testing.T) {
	channeltest.CheckLeaks(t)
	ctx := testCtx(t)
	f := fillListener(t, ctx)
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Post("http://"+f.ln.Addr()+"/svc.other", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Jesus-Error-Code") != "resource_exhausted" {
		t.Fatalf("got %d %q, want 429 resource_exhausted", resp.StatusCode, resp.Header.Get("Jesus-Error-Code"))
	}
	f.ranAgain(t)
	close(f.release)
	if r, err := f.x.Recv(ctx); err != nil || r.Type != channel.TypeResponse {
		t.Fatalf("%v %v", r, err)
	}
}

// TestHandlerPanics: a panicking handler costs its caller an internal error, not the process.
func TestHandlerPanics(t *testing.T) {
	channeltest.CheckLeaks(t)
	ln := serve(t, channel.Config{}, channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		panic("boom")
	}))
	c := dial(t, ln.Addr(), channel.Config{})
	for _, m := range []channel.Mode{channel.ModeResponse, channel.ModeAck, channel.ModeStream} {
		r := call(t, c, &channel.Envelope{Type: channel.TypeRequest, Mode: m, Method: "svc.panic"})
		if r.Type != channel.TypeError || r.ErrCode != channel.CodeInternal || !strings.Contains(r.ErrMessage, "panicked") {
			t.Fatalf("%s: got %s %q %q", m, r.Type, r.ErrCode, r.ErrMessage)
		}
	}
	x, err := c.Open(testCtx(t), &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeNoResponse, Method: "svc.panic"})
	if x != nil || err != nil {
		t.Fatalf("noResponse: %v %v", x, err)
	}
}

func TestDialRefusesBadAddress(t *testing.T) {
	for _, addr := range []string{"ftp://h:1", "http://", "http://%zz"} {
		if _, err := httpchan.New().Dial(context.Background(), addr, channel.Config{}); err == nil || !strings.HasPrefix(err.Error(), "httpchan: ") {
			t.Errorf("Dial(%q): %v, want an httpchan error", addr, err)
		}
	}
}

// TestAckCancelBeforeAck: a caller that gives up before the 202 ends the handler's ctx;
// the late ack fails instead of reaching a gone caller.
func TestAckCancelBeforeAck(t *testing.T) {
	channeltest.CheckLeaks(t)
	started := make(chan struct{})
	sendErr := make(chan error, 1)
	ln := serve(t, channel.Config{}, channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		close(started)
		<-ctx.Done()
		sendErr <- w.Send(context.Background(), &channel.Envelope{Type: channel.TypeAck})
	}))
	c := dial(t, ln.Addr(), channel.Config{})
	x, err := c.Open(testCtx(t), &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeAck, Method: "svc.slowack"})
	if err != nil {
		t.Fatal(err)
	}
	<-started
	x.Close()
	if err := <-sendErr; !errors.Is(err, channel.ErrClosed) {
		t.Fatalf("ack after the caller left: %v, want ErrClosed", err)
	}
}
