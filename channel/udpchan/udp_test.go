package udpchan_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/channel/udpchan"
	"github.com/jesus-go/jesus/channel/udpchan/udptest"
)

func TestNoResponseDelivery(t *testing.T) {
	channeltest.CheckLeaks(t)
	const n, batch = 200, 20
	var seen atomic.Int64
	var mu sync.Mutex
	got := map[string]bool{}
	srv := serve(t, udpchan.New(), testConfig(), func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		if err := w.Send(ctx, &channel.Envelope{Type: channel.TypeAck}); !errors.Is(err, channel.ErrNoReply) {
			t.Errorf("Send in noResponse mode: %v, want ErrNoReply", err)
		}
		mu.Lock()
		got[string(req.Data)] = true
		mu.Unlock()
		seen.Add(1)
	})
	c := dial(t, srv.ln.Addr(), testConfig())
	ctx := ctxT(t)
	// In batches, so that the socket buffers never overflow on a busy machine: loss on
	// loopback is possible in principle, and this test is about delivery, not loss.
	for i := 0; i < n; i++ {
		x, err := c.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeNoResponse, Method: "log.write", Data: []byte(fmt.Sprint("line ", i))})
		if x != nil || err != nil {
			t.Fatalf("Open(noResponse) = %v, %v; want nil, nil", x, err)
		}
		if (i+1)%batch == 0 {
			channeltest.Eventually(t, wait, fmt.Sprintf("the handler to see %d requests", i+1), func() bool { return seen.Load() == int64(i+1) })
		}
	}
	if len(got) != n {
		t.Fatalf("handler saw %d distinct lines, want %d", len(got), n)
	}
	if st := c.Stats(); st.Sent != n || st.Retransmits != 0 {
		t.Fatalf("client stats %+v, want %d sent and no retransmits", st, n)
	}
	if st := srv.ln.Stats(); st.Received != n || st.Dropped+st.Malformed+st.Oversize+st.Duplicates+st.Overloaded != 0 {
		t.Fatalf("listener stats %+v", st)
	}
}

func TestAckThroughLossyProxy(t *testing.T) {
	channeltest.CheckLeaks(t)
	const workers, perWorker = 8, 25
	var mu sync.Mutex
	seen := map[string]int{}
	srv := serve(t, udpchan.New(), testConfig(), func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		mu.Lock()
		seen[string(req.Data)]++
		mu.Unlock()
		ack(ctx, req, w)
	})
	proxy := udptest.NewLossyProxy(t, srv.ln.Addr(), 0.3, 42)
	ctx := ctxT(t)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	var retransmits atomic.Uint64
	for g := 0; g < workers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := udpchan.Dial(ctx, proxy.Addr(), testConfig())
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for i := 0; i < perWorker; i++ {
				r, err := call(ctx, c, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeAck, Method: "orders.created", Data: []byte(fmt.Sprintf("w%d-%d", g, i))})
				if err != nil {
					errs <- fmt.Errorf("worker %d request %d: %w", g, i, err)
					return
				}
				if r.Type != channel.TypeAck {
					errs <- fmt.Errorf("worker %d request %d: got %s %s", g, i, r.Type, r.ErrMessage)
					return
				}
			}
			retransmits.Add(c.Stats().Retransmits)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != workers*perWorker {
		t.Fatalf("handler saw %d distinct requests, want %d", len(seen), workers*perWorker)
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("handler saw %s %d times", k, n)
		}
	}
	st := srv.ln.Stats()
	t.Logf("proxy forwarded %d dropped %d; client retransmits %d; listener %+v", proxy.Forwarded(), proxy.Dropped(), retransmits.Load(), st)
	if proxy.Dropped() == 0 || retransmits.Load() == 0 {
		t.Fatalf("at 30%% loss expected drops and retransmits, got %d and %d", proxy.Dropped(), retransmits.Load())
	}
}

func TestOversizeRejectedAtSender(t *testing.T) {
	channeltest.CheckLeaks(t)
	srv := serve(t, udpchan.New(), testConfig(), ack)
	c := dial(t, srv.ln.Addr(), testConfig())
	for _, mode := range []channel.Mode{channel.ModeNoResponse, channel.ModeAck} {
		for _, size := range []int{1395, 1400, 5000} {
			req := &channel.Envelope{Type: channel.TypeRequest, Mode: mode, Method: "log.write", Data: make([]byte, size)}
			x, err := c.Open(ctxT(t), req)
			if x != nil {
				x.Close()
			}
			var tl *channel.TooLargeError
			if !errors.As(err, &tl) || !errors.Is(err, channel.ErrTooLarge) {
				t.Fatalf("%s, %d data bytes: %v, want a *channel.TooLargeError", mode, size, err)
			}
			enc := channel.EnvelopeSize(req)
			want := fmt.Sprintf("channel: udp datagram of %d bytes exceeds the limit of 1400 bytes; use a tcp or http channel for messages this large", enc)
			if tl.Size != enc || tl.Limit != 1400 || err.Error() != want {
				t.Fatalf("got %q (size %d, limit %d), want %q", err, tl.Size, tl.Limit, want)
			}
		}
	}
	if st := c.Stats(); st.Sent != 0 {
		t.Fatalf("sent %d datagrams, want none", st.Sent)
	}
	// A larger configured limit lets the same message through.
	cfg := testConfig()
	cfg.MaxDatagram = 8000
	srv2 := serve(t, udpchan.New(), cfg, ack)
	c2 := dial(t, srv2.ln.Addr(), cfg)
	r, err := call(ctxT(t), c2, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeAck, Method: "log.write", Data: make([]byte, 5000)})
	if err != nil || r.Type != channel.TypeAck {
		t.Fatalf("5000 bytes with MaxDatagram 8000: %v %v", r, err)
	}
	// The receiver drops what is over its own limit and counts it.
	raw := rawConn(t, srv.ln.Addr())
	big := channel.AppendEnvelope(nil, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeNoResponse, ID: 1, Data: make([]byte, 3000)})
	if _, err := raw.Write(big); err != nil {
		t.Fatal(err)
	}
	channeltest.Eventually(t, wait, "the oversize datagram to be counted", func() bool { return srv.ln.Stats().Oversize == 1 })
}

func TestResponseAndStreamRefused(t *testing.T) {
	channeltest.CheckLeaks(t)
	srv := serve(t, udpchan.New(), testConfig(), ack)
	c := dial(t, srv.ln.Addr(), testConfig())
	for _, mode := range []channel.Mode{channel.ModeResponse, channel.ModeStream} {
		x, err := c.Open(ctxT(t), &channel.Envelope{Type: channel.TypeRequest, Mode: mode, Method: "svc.get"})
		if x != nil {
			t.Fatalf("%s: got an exchange", mode)
		}
		if !errors.Is(err, channel.ErrUnsupported) || !strings.Contains(err.Error(), "udp carries noResponse and ack only; response and stream need tcp, unix or http") {
			t.Fatalf("%s: %v, want ErrUnsupported with the reason", mode, err)
		}
	}
	// A foreign sender that tries anyway gets an unimplemented error back.
	raw := rawConn(t, srv.ln.Addr())
	raw.Write(channel.AppendEnvelope(nil, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse, ID: 9, Method: "svc.get"}))
	if r, _, err := readReply(t, raw); err != nil || r.Type != channel.TypeError || r.ID != 9 || r.ErrCode != channel.CodeUnimplemented {
		t.Fatalf("reply %+v, %v; want error %s for id 9", r, err, channel.CodeUnimplemented)
	}
}

func TestMalformedCounted(t *testing.T) {
	channeltest.CheckLeaks(t)
	var handled atomic.Int64
	srv := serve(t, udpchan.New(), testConfig(), func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		handled.Add(1)
	})
	raw := rawConn(t, srv.ln.Addr())
	bad := [][]byte{
		{},                        // empty
		{1, 1},                    // short
		{2, 1, 1, 0, 0},           // version
		{1, 99, 1, 0, 0},          // type
		{1, 1, 9, 0, 0},           // mode
		{1, 1, 1, 0x80},           // id varint
		{1, 1, 1, 1, 1, 200, 'x'}, // field past the end
		{1, 1, 0, 1, 0},           // request without a mode
	}
	for _, b := range bad {
		if _, err := raw.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	channeltest.Eventually(t, wait, "malformed datagrams to be counted", func() bool { return srv.ln.Stats().Malformed == uint64(len(bad)) })
	// A reply sent to a listener is dropped, not served.
	raw.Write(channel.AppendEnvelope(nil, &channel.Envelope{Type: channel.TypeAck, ID: 3}))
	channeltest.Eventually(t, wait, "the stray ack to be counted", func() bool { return srv.ln.Stats().Dropped == 1 })
	// The listener still serves.
	c := dial(t, srv.ln.Addr(), testConfig())
	c.Open(ctxT(t), &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeNoResponse, Method: "log.write"})
	channeltest.Eventually(t, wait, "the handler to run", func() bool { return handled.Load() == 1 })
	if handled.Load() != 1 {
		t.Fatalf("handler ran %d times", handled.Load())
	}
}

func TestOverload(t *testing.T) {
	channeltest.CheckLeaks(t)
	cfg := testConfig()
	cfg.MaxInFlight = 1
	started, release := make(chan struct{}, 4), make(chan struct{})
	srv := serve(t, udpchan.New(), cfg, func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		started <- struct{}{}
		<-release
		if req.Mode == channel.ModeAck {
			ack(ctx, req, w)
		}
	})
	c := dial(t, srv.ln.Addr(), cfg)
	ctx := ctxT(t)
	x, err := c.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeAck, Method: "svc.block"})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	<-started
	r, err := call(ctx, c, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeAck, Method: "svc.over"})
	if err != nil || r.Type != channel.TypeError || r.ErrCode != channel.CodeResourceExhausted {
		t.Fatalf("ack request over MaxInFlight: %+v %v, want error %s", r, err, channel.CodeResourceExhausted)
	}
	c.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeNoResponse, Method: "log.write"})
	channeltest.Eventually(t, wait, "two overloaded requests", func() bool { return srv.ln.Stats().Overloaded == 2 })
	close(release)
	if r, err := x.Recv(ctx); err != nil || r.Type != channel.TypeAck {
		t.Fatalf("in-flight request: %v %v", r, err)
	}
	if len(started) != 0 {
		t.Fatal("a handler ran over MaxInFlight")
	}
}

func TestHandlerWithoutReply(t *testing.T) {
	channeltest.CheckLeaks(t)
	srv := serve(t, udpchan.New(), testConfig(), func(context.Context, *channel.Envelope, channel.ReplyWriter) {})
	c := dial(t, srv.ln.Addr(), testConfig())
	r, err := call(ctxT(t), c, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeAck, Method: "svc.forgetful"})
	if err != nil || r.Type != channel.TypeError || r.ErrCode != channel.CodeInternal || !strings.Contains(r.ErrMessage, "svc.forgetful") {
		t.Fatalf("got %+v %v, want an internal error naming the method", r, err)
	}
}

func TestAckRetransmitsUntilContextEnds(t *testing.T) {
	channeltest.CheckLeaks(t)
	c := dial(t, silentAddr(t), testConfig())
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	x, err := c.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeAck, Method: "svc.void"})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	_, err = x.Recv(context.Background())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Recv: %v, want DeadlineExceeded", err)
	}
	// 10, 20, 40, 80 ms: about four retransmissions in 200 ms.
	if st := c.Stats(); st.Sent != 1 || st.Retransmits < 1 || st.Retransmits > 6 {
		t.Fatalf("stats %+v, want 1 sent and a few retransmits with doubling backoff", st)
	}
}

func TestCancelReachesHandler(t *testing.T) {
	channeltest.CheckLeaks(t)
	started, cancelled := make(chan struct{}, 1), make(chan struct{}, 1)
	srv := serve(t, udpchan.New(), testConfig(), func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		started <- struct{}{}
		<-ctx.Done()
		cancelled <- struct{}{}
	})
	c := dial(t, srv.ln.Addr(), testConfig())
	ctx := ctxT(t)
	x, err := c.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeAck, Method: "svc.block"})
	if err != nil {
		t.Fatal(err)
	}
	<-started
	x.Close()
	x.Close()
	select {
	case <-cancelled:
	case <-ctx.Done():
		t.Fatal("handler's context not cancelled after Exchange.Close")
	}
	if _, err := x.Recv(ctx); !errors.Is(err, channel.ErrClosed) {
		t.Fatalf("Recv after Close: %v, want ErrClosed", err)
	}
}

func TestConnClose(t *testing.T) {
	channeltest.CheckLeaks(t)
	c, err := udpchan.Dial(context.Background(), silentAddr(t), testConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	x, err := c.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeAck, Method: "svc.void"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := x.Recv(ctx); !errors.Is(err, channel.ErrClosed) {
		t.Fatalf("open exchange after Close: %v, want ErrClosed", err)
	}
	x.Close()
	if _, err := c.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeNoResponse}); !errors.Is(err, channel.ErrClosed) {
		t.Fatalf("Open after Close: %v, want ErrClosed", err)
	}
}

func TestInvalidConfig(t *testing.T) {
	cfg := testConfig()
	cfg.MaxDatagram = 70000
	if _, err := udpchan.Dial(context.Background(), "127.0.0.1:9", cfg); err == nil || !strings.Contains(err.Error(), "MaxDatagram 70000") {
		t.Fatalf("Dial with MaxDatagram 70000: %v", err)
	}
	if ln, err := udpchan.New().Listen(context.Background(), "127.0.0.1:0", cfg); ln != nil || err == nil || !strings.HasPrefix(err.Error(), "udpchan: ") {
		t.Fatalf("Listen with MaxDatagram 70000: %v, %v", ln, err)
	}
	if c, err := udpchan.New().Dial(context.Background(), "127.0.0.1:9", cfg); c != nil || err == nil {
		t.Fatalf("Transport.Dial with MaxDatagram 70000: %v, %v (want a nil interface)", c, err)
	}
}

func TestIDs(t *testing.T) {
	channeltest.CheckLeaks(t)
	srv := serve(t, udpchan.New(), testConfig(), ack)
	var firsts []uint64
	for range 2 {
		c := dial(t, srv.ln.Addr(), testConfig())
		var prev uint64
		for i := 0; i < 3; i++ {
			req := &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeAck, Method: "svc.do"}
			if _, err := call(ctxT(t), c, req); err != nil {
				t.Fatal(err)
			}
			if i > 0 && req.ID != prev+1 {
				t.Fatalf("ids %d then %d, want consecutive", prev, req.ID)
			}
			if req.ID < 1<<28 || req.ID >= 1<<35 {
				t.Fatalf("id %d is not a 5-byte varint", req.ID)
			}
			if i == 0 {
				firsts = append(firsts, req.ID)
			}
			prev = req.ID
		}
	}
	// Two sockets start at different random ids (equal with probability 2^-31).
	if firsts[0] == firsts[1] {
		t.Fatalf("two conns both started at id %d", firsts[0])
	}
}

func TestNoAmplification(t *testing.T) {
	channeltest.CheckLeaks(t)
	cfg := testConfig()
	cfg.MaxInFlight = 1
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	srv := serve(t, udpchan.New(), cfg, func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		started <- struct{}{}
		<-release
		ack(ctx, req, w)
	})
	defer close(release)
	raw := rawConn(t, srv.ln.Addr())
	raw.Write([]byte{1, 1, 2, 1, 0}) // occupies the one slot
	<-started
	// 5 bytes in may bring at most 15 bytes back: too few for any error, so none.
	raw.Write([]byte{1, 1, 2, 2, 0})
	// 12 bytes in: the error comes without its message.
	raw.Write(channel.AppendEnvelope(nil, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeAck, ID: 3, Method: "svc.do"}))
	if r, n, err := readReply(t, raw); err != nil || r.ID != 3 || r.ErrCode != channel.CodeResourceExhausted || r.ErrMessage != "" || n > 36 {
		t.Fatalf("got %d bytes %+v %v, want a bare resource_exhausted error for id 3", n, r, err)
	}
	if st := srv.ln.Stats(); st.Overloaded != 2 {
		t.Fatalf("stats %+v, want 2 overloaded", st)
	}
}

func TestReplyTooLarge(t *testing.T) {
	channeltest.CheckLeaks(t)
	srv := serve(t, udpchan.New(), testConfig(), func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		err := w.Send(ctx, &channel.Envelope{Type: channel.TypeAck, Data: make([]byte, 2000)})
		if !errors.Is(err, channel.ErrTooLarge) {
			t.Errorf("Send of a 2000-byte ack: %v, want ErrTooLarge", err)
		}
		if err := w.Send(ctx, &channel.Envelope{Type: channel.TypeResponse}); err == nil || errors.Is(err, channel.ErrClosed) {
			t.Errorf("Send of a response in ack mode: %v, want a refusal", err)
		}
		w.Send(ctx, &channel.Envelope{Type: channel.TypeError, ErrCode: "invalid_argument", ErrMessage: strings.Repeat("ü", 1500), ErrDetails: make([]byte, 500)})
	})
	c := dial(t, srv.ln.Addr(), testConfig())
	// A request of 500 bytes: the reply may take 3 times that (§5.2), so the datagram
	// limit is what shortens it.
	r, err := call(ctxT(t), c, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeAck, Method: "svc.big", Data: make([]byte, 480)})
	if err != nil {
		t.Fatal(err)
	}
	if r.Type != channel.TypeError || r.ErrCode != "invalid_argument" || !strings.HasSuffix(r.ErrMessage, "ü [truncated]") || len(r.ErrDetails) != 0 {
		t.Fatalf("got %s %q %d-byte message %q...", r.Type, r.ErrCode, len(r.ErrMessage), r.ErrMessage[:10])
	}
	if size := channel.EnvelopeSize(r); size > 1400 || size < 1300 {
		t.Fatalf("shortened error is %d bytes, want just under the 1400-byte limit", size)
	}
}

// TestAckReachesLateListener: the refusal of a request's first transmission (nothing
// listened yet) does not end it: a listener that is up by its retransmission gets it.
// (A refusal after a retransmission ends it: TestAckToNobodyFailsFast.)
func TestAckReachesLateListener(t *testing.T) {
	channeltest.CheckLeaks(t)
	// A free port with nobody on it yet: the first send gets ICMP port unreachable.
	addr := freeAddr(t)
	cfg := channel.Config{RetryInterval: time.Second}.WithDefaults()
	c := dial(t, addr, cfg)
	ctx := ctxT(t)
	x, err := c.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeAck, Method: "svc.late"})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	ln, err := udpchan.Listen(ctx, addr, testConfig())
	if err != nil {
		t.Skipf("port %s was taken meanwhile: %v", addr, err)
	}
	done := make(chan error, 1)
	go func() { done <- ln.Serve(channel.HandlerFunc(ack)) }()
	defer func() { ln.Close(); <-done }()
	r, err := x.Recv(ctx)
	if err != nil || r.Type != channel.TypeAck {
		t.Fatalf("got %v %v, want the ack once the listener is up", r, err)
	}
}
