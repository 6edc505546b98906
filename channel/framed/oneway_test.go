package framed_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/channel/framed"
)

// serveOn listens on addr of tr with cfg and serves h until the test ends, when it closes
// the listener and waits for Serve to return.
func serveOn(t testing.TB, ctx context.Context, tr channel.Transport, addr string, cfg channel.Config, h channel.Handler) channel.Listener {
	t.Helper()
	ln, err := tr.Listen(ctx, addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- ln.Serve(h) }()
	t.Cleanup(func() { ln.Close(); <-served })
	return ln
}

// dialOn dials addr of tr with cfg; the Conn closes when the test ends.
func dialOn(t testing.TB, ctx context.Context, tr channel.Transport, addr string, cfg channel.Config) channel.Conn {
	t.Helper()
	c, err := tr.Dial(ctx, addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// flood starts senders goroutines that each open perSender noResponse requests carrying
// data on c. wait waits for them all and returns the first error an Open returned (its
// sender stopped there).
func flood(ctx context.Context, c channel.Conn, senders, perSender int, data []byte) (wait func() error) {
	var wg sync.WaitGroup
	errs := make(chan error, senders)
	for g := 0; g < senders; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perSender; i++ {
				if _, err := c.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeNoResponse, Method: "log.write", Data: data}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	return func() error {
		wg.Wait()
		close(errs)
		return <-errs
	}
}

func listenAddr(t testing.TB, tr channel.Transport) string {
	if tr.Name() == "unix" {
		return filepath.Join(t.TempDir(), "s.sock")
	}
	return "127.0.0.1:0"
}

// settle polls the client's one-way counts (counters: nothing to wait on) until nothing
// is outstanding, within what is left of ctx.
func settle(t *testing.T, ctx context.Context, oc channel.OneWayCounter) channel.OneWayStats {
	t.Helper()
	deadline, _ := ctx.Deadline()
	var st channel.OneWayStats
	channeltest.EventuallyState(t, time.Until(deadline), "one-way counts to settle", func() (bool, string) {
		st = oc.OneWayStats()
		return st.Sent == st.Delivered+st.Dropped+st.Lost, fmt.Sprintf("%+v", st)
	})
	return st
}

// TestOneWayFlood: 64 senders flood a server whose handler blocks until the test lets
// it go. The senders must be held back by the one-way window (the server never runs
// more than PoolSize x OneWayWindow of them at once), then every request must arrive:
// none dropped, none lost, no connection dropped.
func TestOneWayFlood(t *testing.T) {
	for _, tr := range []channel.Transport{framed.TCP(), framed.Unix()} {
		t.Run(tr.Name(), func(t *testing.T) { oneWayFlood(t, tr) })
	}
}

func oneWayFlood(t *testing.T, tr channel.Transport) {
	channeltest.CheckLeaks(t)
	const senders, perSender, window, pool = 64, 1000, 128, 2
	const bound = pool * window // requests the server may hold at once
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg := channel.Config{OneWayWindow: window, PoolSize: pool}
	gate := make(chan struct{})
	full := make(chan struct{})
	var running, maxRunning, received atomic.Int64
	ln := serveOn(t, ctx, tr, listenAddr(t, tr), cfg, channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		n := running.Add(1)
		for m := maxRunning.Load(); n > m && !maxRunning.CompareAndSwap(m, n); m = maxRunning.Load() {
		}
		if n == bound {
			close(full) // every window is in use: the senders must be waiting now
		}
		<-gate
		received.Add(1)
		running.Add(-1)
	}))
	c := dialOn(t, ctx, tr, ln.Addr(), cfg)
	oc := c.(channel.OneWayCounter)
	goroutines0 := runtime.NumGoroutine()
	wait := flood(ctx, c, senders, perSender, make([]byte, 64))
	select {
	case <-full:
	case <-ctx.Done():
		t.Fatalf("the handlers never filled the windows: %d running", running.Load())
	}
	// While the handlers are held, the senders are held too: the server's one-way
	// memory is bounded by the windows, not by what the senders want to send.
	if st := oc.OneWayStats(); st.Sent > bound {
		t.Fatalf("%d sent while the server had run none: more than the windows (%d)", st.Sent, bound)
	}
	held := runtime.NumGoroutine() - goroutines0
	close(gate)
	if err := wait(); err != nil {
		t.Fatalf("Open: %v", err)
	}
	const total = senders * perSender
	checkAllDelivered(t, ctx, oc, ln, total)
	if got := received.Load(); got != total {
		t.Fatalf("handlers received %d of %d", got, total)
	}
	if m := maxRunning.Load(); m > bound {
		t.Fatalf("%d handlers ran at once, the windows allow %d", m, bound)
	}
	t.Logf("%s: %d one-way requests, at most %d handlers at once (bound %d), %d goroutines while held (senders + handlers)",
		tr.Name(), total, maxRunning.Load(), bound, held)
	if held > senders+bound+16 {
		t.Fatalf("%d goroutines while the handlers were held, want at most %d", held, senders+bound+16)
	}
}

// checkAllDelivered checks that the client (once settled) and the listener counted all
// total one-way requests delivered, none dropped or lost.
func checkAllDelivered(t *testing.T, ctx context.Context, oc channel.OneWayCounter, ln channel.Listener, total uint64) {
	t.Helper()
	st := settle(t, ctx, oc)
	if st.Sent != total || st.Delivered != total || st.Dropped != 0 || st.Lost != 0 {
		t.Fatalf("client counts %+v, want all %d delivered", st, total)
	}
	ls := ln.(channel.OneWayListenerCounter).OneWayListenerStats()
	if ls.Received != total || ls.Dropped != 0 {
		t.Fatalf("listener counts %+v, want %d received, none dropped", ls, total)
	}
}

// TestOneWayShutdownMidway: the server shuts down while 64 senders flood it. Every
// request the client counted as sent is accounted for: the handler ran it (and the
// client knows: Delivered), or it was dropped (the server says so), or the connection
// ended first (Lost). The server's counts agree.
func TestOneWayShutdownMidway(t *testing.T) {
	for _, tr := range []channel.Transport{framed.TCP(), framed.Unix()} {
		t.Run(tr.Name(), func(t *testing.T) { oneWayShutdown(t, tr) })
	}
}

func oneWayShutdown(t *testing.T, tr channel.Transport) {
	channeltest.CheckLeaks(t)
	const senders, perSender = 64, 1000
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg := channel.Config{OneWayWindow: 256}
	var ran atomic.Int64
	half := make(chan struct{})
	ln := serveOn(t, ctx, tr, listenAddr(t, tr), cfg, channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		if ran.Add(1) == senders*perSender/4 {
			close(half)
		}
		runtime.Gosched() // a little work
	}))
	c := dialOn(t, ctx, tr, ln.Addr(), cfg)
	wait := flood(ctx, c, senders, perSender, nil)
	select {
	case <-half:
	case <-ctx.Done():
		t.Fatal("the handlers never ran a quarter of the requests")
	}
	if err := ln.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	wait()    // an Open that failed found the server gone: its request was not sent
	c.Close() // whatever is still outstanding is lost
	st := settle(t, ctx, c.(channel.OneWayCounter))
	ls := ln.(channel.OneWayListenerCounter).OneWayListenerStats()
	r := uint64(ran.Load())
	t.Logf("%s: client %+v; server %+v; handlers ran %d", tr.Name(), st, ls, r)
	if st.Sent != r+st.Dropped+st.Lost {
		t.Fatalf("client sent %d, handlers ran %d, dropped %d, lost %d: %d unaccounted", st.Sent, r, st.Dropped, st.Lost, int64(st.Sent)-int64(r+st.Dropped+st.Lost))
	}
	if st.Delivered != r {
		t.Fatalf("client counts %d delivered, handlers ran %d: Shutdown did not report them all", st.Delivered, r)
	}
	if ls.Received != r+ls.Dropped {
		t.Fatalf("server received %d, ran %d, dropped %d", ls.Received, r, ls.Dropped)
	}
	if st.Dropped > ls.Dropped || ls.Received > st.Sent {
		t.Fatalf("client %+v and server %+v disagree", st, ls)
	}
	if st.Sent == senders*perSender {
		t.Log("every request was sent before the shutdown; the case proves less")
	}
}

// TestOneWayNeverErrorFrames: a peer that floods noResponse requests past its window,
// with and without one-way flow control, gets no error frame back: only credit
// frames when it asked for flow control, nothing otherwise.
func TestOneWayNeverErrorFrames(t *testing.T) {
	for _, flags := range []byte{0, 1} {
		t.Run(fmt.Sprintf("flags=%d", flags), func(t *testing.T) {
			const window, n = 8, 500
			gate := make(chan struct{})
			var ran atomic.Int64
			ln, err := framed.TCP().Listen(context.Background(), "127.0.0.1:0", channel.Config{OneWayWindow: window})
			if err != nil {
				t.Fatal(err)
			}
			served := make(chan error, 1)
			go func() {
				served <- ln.Serve(channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
					<-gate
					ran.Add(1)
				}))
			}()
			defer func() { ln.Close(); <-served }()
			p := dialRaw(t, ln.Addr(), []byte{'J', 'S', 'U', 'S', 1, flags})
			var pref [6]byte
			p.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.ReadFull(p.br, pref[:]); err != nil || pref[5] != flags {
				t.Fatalf("server preface % X, %v; want flags %d", pref, err, flags)
			}
			var buf []byte
			for id := uint64(1); id <= n; id++ {
				buf = append(buf, frame(&channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeNoResponse, ID: id, Method: "m"})...)
			}
			buf = append(buf, frame(&channel.Envelope{Type: channel.TypePing, ID: 99})...)
			p.write(buf)
			credits := uint64(0)
			for {
				e, err := p.readFrame()
				if err != nil {
					t.Fatalf("after %d credits: %v", credits, err)
				}
				if e.Type == channel.TypePong {
					break
				}
				if e.Type != channel.TypeCredit || e.ID != 0 || flags == 0 {
					t.Fatalf("got %s id %d (code %q) for noResponse requests", e.Type, e.ID, e.ErrCode)
				}
				credits += uint64(e.Credits)
			}
			close(gate)
			ls := ln.(channel.OneWayListenerCounter).OneWayListenerStats()
			if ls.Received != n || ls.Dropped < n-window {
				t.Fatalf("listener counts %+v: want %d received, at least %d dropped over the window", ls, n, n-window)
			}
		})
	}
}

// TestOneWayWaitsForCredit: with the window in use, Open of a noResponse request waits
// and, when its ctx ends first, returns ctx's error without sending. Meanwhile calls
// and streams on the same connection are not held back by the one-way window.
func TestOneWayWaitsForCredit(t *testing.T) {
	channeltest.CheckLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cfg := channel.Config{OneWayWindow: 2, PoolSize: 1, StreamWindow: 2}
	gate := make(chan struct{})
	started := make(chan struct{}, 2)
	ln := serveOn(t, ctx, framed.TCP(), "127.0.0.1:0", cfg, channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		switch req.Mode {
		case channel.ModeNoResponse:
			started <- struct{}{}
			<-gate
		case channel.ModeStream:
			for i := 0; i < 10; i++ { // five times the stream window: needs credit back
				if w.Send(ctx, &channel.Envelope{Type: channel.TypeItem, Data: []byte{byte(i)}}) != nil {
					return
				}
			}
			w.Send(ctx, &channel.Envelope{Type: channel.TypeEnd})
		}
	}))
	c := dialOn(t, ctx, framed.TCP(), ln.Addr(), cfg)
	oc := c.(channel.OneWayCounter)
	req := &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeNoResponse, Method: "log.write"}
	for i := 0; i < 2; i++ {
		if _, err := c.Open(ctx, req); err != nil {
			t.Fatal(err)
		}
		<-started
	}
	short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancelShort()
	if _, err := c.Open(short, req); err != context.DeadlineExceeded {
		t.Fatalf("Open with the window in use: %v, want context.DeadlineExceeded", err)
	}
	if st := oc.OneWayStats(); st.Sent != 2 {
		t.Fatalf("a request that timed out waiting for credit was counted: %+v", st)
	}
	channeltest.ReadStream(t, ctx, c, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeStream, Method: "s"}, 10, "stream beside a full one-way window")
	close(gate)
	if _, err := c.Open(ctx, req); err != nil {
		t.Fatalf("Open once credit is back: %v", err)
	}
	<-started
	if st := settle(t, ctx, oc); st.Sent != 3 || st.Delivered != 3 {
		t.Fatalf("counts %+v, want 3 sent and delivered", st)
	}
}

// TestOneWayHostileCredit: a server that confirms more one-way requests than the
// client sent, or sends credit the protocol does not allow, gets an error frame and the
// connection closed; the client counts what was outstanding as lost.
func TestOneWayHostileCredit(t *testing.T) {
	cases := []struct {
		name  string
		flags byte
		reply *channel.Envelope // after the client's first noResponse request
	}{
		{"confirms too many", 1, &channel.Envelope{Type: channel.TypeCredit, Mode: channel.ModeNoResponse, Credits: 1, Data: []byte{5, 0}}},
		{"drops more than done", 1, &channel.Envelope{Type: channel.TypeCredit, Mode: channel.ModeNoResponse, Credits: 1, Data: []byte{1, 2}}},
		{"credit for a stream id", 1, &channel.Envelope{Type: channel.TypeCredit, ID: 7, Credits: 1}},
		{"credit without flow control", 0, &channel.Envelope{Type: channel.TypeCredit, Mode: channel.ModeNoResponse, Credits: 1, Data: []byte{1, 0}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			channeltest.CheckLeaks(t)
			nl, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer nl.Close()
			result := make(chan error, 1)
			go func() {
				nc, err := nl.Accept()
				if err != nil {
					result <- err
					return
				}
				defer nc.Close()
				p := &rawPeer{t: t, nc: nc, br: bufio.NewReader(nc)}
				var pref [6]byte
				if _, err := io.ReadFull(p.br, pref[:]); err != nil {
					result <- err
					return
				}
				hello := []byte{'J', 'S', 'U', 'S', 1, tc.flags}
				if tc.flags != 0 {
					hello = append(hello, frame(&channel.Envelope{Type: channel.TypeCredit, Mode: channel.ModeNoResponse, Credits: 4})...)
				}
				nc.Write(hello)
				if e, err := p.readFrame(); err != nil || e.Mode != channel.ModeNoResponse {
					result <- fmt.Errorf("want the client's request, got %v, %v", e, err)
					return
				}
				nc.Write(frame(tc.reply))
				e, err := p.readFrame()
				if err != nil || e.Type != channel.TypeError || e.ErrCode != channel.CodeInvalidArgument {
					result <- fmt.Errorf("want an error frame, got %+v, %v", e, err)
					return
				}
				if _, err := p.readFrame(); err == nil {
					result <- fmt.Errorf("the client kept the connection open")
					return
				}
				result <- nil
			}()
			c, err := framed.TCP().Dial(context.Background(), nl.Addr().String(), channel.Config{PoolSize: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := c.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeNoResponse, Method: "m"}); err != nil {
				t.Fatal(err)
			}
			if err := <-result; err != nil {
				t.Fatal(err)
			}
			if st := settle(t, ctx, c.(channel.OneWayCounter)); st.Sent != 1 || st.Lost != 1 {
				t.Fatalf("counts %+v, want the request lost", st)
			}
		})
	}
}
