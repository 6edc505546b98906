package httpchan_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/channeltest"
)

// counter is v as the counter interface C, failing t when the http transport does not
// implement it.
func counter[C any](t *testing.T, v any) C {
	t.Helper()
	c, ok := v.(C)
	if !ok {
		t.Fatalf("the http %T is not a %s", v, reflect.TypeFor[C]())
	}
	return c
}

func oneWayStats(t *testing.T, c channel.Conn) channel.OneWayStats {
	t.Helper()
	return counter[channel.OneWayCounter](t, c).OneWayStats()
}

// waitSettled waits until every noResponse request c sent has an outcome.
func waitSettled(t *testing.T, c channel.Conn) {
	t.Helper()
	channeltest.Eventually(t, 5*time.Second, "noResponse requests to settle", func() bool {
		s := oneWayStats(t, c)
		return s.Sent == s.Delivered+s.Dropped+s.Lost
	})
}

func listenerStats(t *testing.T, ln channel.Listener) channel.OneWayListenerStats {
	t.Helper()
	return counter[channel.OneWayListenerCounter](t, ln).OneWayListenerStats()
}

// TestOneWayErrorReplyIsADrop: a TypeError reply to a noResponse request puts nothing on the
// wire, returns nil and counts a drop on the listener; other replies fail with ErrNoReply,
// and a second error with ErrClosed. The caller, which had its 204 before the handler ran,
// counts the request delivered; once idle, its counts add up.
func TestOneWayErrorReplyIsADrop(t *testing.T) {
	channeltest.CheckLeaks(t)
	type result struct{ errRes, errErr, errAgain error }
	results := make(chan result, 100)
	ln := serve(t, channel.Config{}, channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		var r result
		if string(req.Data) == "refuse" {
			r.errRes = w.Send(ctx, &channel.Envelope{Type: channel.TypeResponse, Data: []byte("no")})
			r.errErr = w.Send(ctx, &channel.Envelope{Type: channel.TypeError, ErrCode: channel.CodeInvalidArgument, ErrMessage: "refused"})
			r.errAgain = w.Send(ctx, &channel.Envelope{Type: channel.TypeError, ErrCode: channel.CodeInvalidArgument, ErrMessage: "refused"})
		}
		results <- r
	}))
	c := dial(t, ln.Addr(), channel.Config{})
	const ok, refused = 30, 20
	var wg sync.WaitGroup
	for i := 0; i < ok+refused; i++ {
		data := "fine"
		if i%5 < 2 {
			data = "refuse"
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			x, err := c.Open(testCtx(t), &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeNoResponse, Method: "log.write", Data: []byte(data)})
			if x != nil || err != nil {
				t.Errorf("Open = %v, %v", x, err)
			}
		}()
	}
	wg.Wait()
	for i := 0; i < ok+refused; i++ {
		r := <-results
		if r == (result{}) {
			continue
		}
		if !errors.Is(r.errRes, channel.ErrNoReply) || r.errErr != nil || !errors.Is(r.errAgain, channel.ErrClosed) {
			t.Fatalf("Send to noResponse: response %v, error %v, second error %v; want ErrNoReply, nil, ErrClosed", r.errRes, r.errErr, r.errAgain)
		}
	}
	if got := listenerStats(t, ln); got != (channel.OneWayListenerStats{Received: ok + refused, Dropped: refused}) {
		t.Fatalf("listener stats %+v, want %d received, %d dropped", got, ok+refused, refused)
	}
	waitSettled(t, c)
	if got := oneWayStats(t, c); got != (channel.OneWayStats{Sent: ok + refused, Delivered: ok + refused}) {
		t.Fatalf("conn stats %+v, want %d sent and delivered", got, ok+refused)
	}

	// What a plain client sees does not change: 204, and nothing else, on its connection.
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	for i := 0; i < 2; i++ {
		req, _ := http.NewRequest("POST", "http://"+ln.Addr()+"/log.write", strings.NewReader("refuse"))
		req.Header.Set("Jesus-Mode", "noResponse")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent || len(body) != 0 {
			t.Fatalf("plain client: %d %q, want 204 and no body", resp.StatusCode, body)
		}
		<-results
	}
	if got := listenerStats(t, ln); got.Received != ok+refused+2 || got.Dropped != refused+2 {
		t.Fatalf("listener stats %+v after two plain refused requests", got)
	}
}

// TestOneWayRefusedByLimit: a noResponse request over MaxInFlight gets 429; both ends count
// it dropped.
func TestOneWayRefusedByLimit(t *testing.T) {
	channeltest.CheckLeaks(t)
	ctx := testCtx(t)
	f := fillListener(t, ctx)
	if x, err := f.c.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeNoResponse, Method: "log.write", Data: []byte("x")}); x != nil || err != nil {
		t.Fatalf("Open = %v, %v", x, err)
	}
	// Release the blocking call only once the noResponse request was answered.
	waitSettled(t, f.c)
	close(f.release)
	if r, err := f.x.Recv(ctx); err != nil || r.Type != channel.TypeResponse {
		t.Fatalf("%v %v", r, err)
	}
	if got := oneWayStats(t, f.c); got != (channel.OneWayStats{Sent: 1, Dropped: 1}) {
		t.Fatalf("conn stats %+v, want 1 sent, 1 dropped", got)
	}
	if got := listenerStats(t, f.ln); got != (channel.OneWayListenerStats{Received: 1, Dropped: 1}) {
		t.Fatalf("listener stats %+v, want 1 received, 1 dropped", got)
	}
	f.ranAgain(t)
}

// TestOneWayUnreadWhileDraining: once a listener drains, a noResponse request queued behind
// a running call on a kept-alive connection is not read at all (net/http closes the
// connection after the running call's reply): nothing is received, nothing runs.
func TestOneWayUnreadWhileDraining(t *testing.T) {
	channeltest.CheckLeaks(t)
	started := make(chan struct{})
	release := make(chan struct{})
	ln, served := serveOwn(t, channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		if req.Mode == channel.ModeNoResponse {
			t.Error("a noResponse handler ran while the listener drained")
			return
		}
		close(started)
		<-release
		respond(ctx, req, w)
	}))
	nc, err := net.Dial("tcp", ln.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	// Two requests pipelined: the server would read the second once the first is answered.
	if _, err := io.WriteString(nc, "POST /svc.block HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"+
		"POST /log.write HTTP/1.1\r\nHost: h\r\nJesus-Mode: noResponse\r\nContent-Length: 1\r\n\r\nx"); err != nil {
		t.Fatal(err)
	}
	<-started
	shut := make(chan error, 1)
	go func() { shut <- ln.Shutdown(testCtx(t)) }()
	// Shutdown marks the listener draining before it closes the socket.
	for {
		d, err := net.Dial("tcp", ln.Addr())
		if err != nil {
			break
		}
		d.Close()
	}
	close(release)
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
	if _, err := http.ReadResponse(br, nil); err == nil {
		t.Fatal("a reply to the request queued behind a draining call")
	}
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
	if err := <-served; !errors.Is(err, channel.ErrClosed) {
		t.Fatal(err)
	}
	if got := listenerStats(t, ln); got != (channel.OneWayListenerStats{}) {
		t.Fatalf("listener stats %+v, want nothing received", got)
	}
}

// TestOneWayLost: a server that reads a noResponse request and hangs up without a status
// leaves the caller unsure: the request is counted lost.
func TestOneWayLost(t *testing.T) {
	channeltest.CheckLeaks(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		nc, err := l.Accept()
		if err != nil {
			return
		}
		http.ReadRequest(bufio.NewReader(nc))
		nc.Close()
	}()
	c := dial(t, l.Addr().String(), channel.Config{})
	if x, err := c.Open(testCtx(t), &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeNoResponse, Method: "log.write", Data: []byte("x")}); x != nil || err != nil {
		t.Fatalf("Open = %v, %v", x, err)
	}
	<-done
	waitSettled(t, c)
	if got := oneWayStats(t, c); got != (channel.OneWayStats{Sent: 1, Lost: 1}) {
		t.Fatalf("conn stats %+v, want 1 sent, 1 lost", got)
	}
}

// TestKeepAliveConcurrent: 64 callers reuse their connections instead of dialling new ones.
func TestKeepAliveConcurrent(t *testing.T) {
	channeltest.CheckLeaks(t)
	var mu sync.Mutex
	peers := map[string]bool{}
	ln := serve(t, channel.Config{}, channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		mu.Lock()
		peers[w.Peer()] = true
		mu.Unlock()
		respond(ctx, req, w)
	}))
	c := dial(t, ln.Addr(), channel.Config{})
	const callers, calls = 64, 20
	var wg sync.WaitGroup
	for i := 0; i < callers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < calls; j++ {
				ctx := testCtx(t)
				x, err := c.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse, Method: "svc.echo", Data: []byte("x")})
				if err != nil {
					t.Error(err)
					return
				}
				if r, err := x.Recv(ctx); err != nil || string(r.Data) != "x" {
					t.Errorf("%v %v", r, err)
				}
				x.Close()
			}
		}()
	}
	wg.Wait()
	if len(peers) > callers {
		t.Fatalf("%d connections for %d callers: connections were not kept alive", len(peers), callers)
	}
}
