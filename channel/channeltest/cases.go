package channeltest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel"
)

// The conformance cases of streams, cancellation and concurrency (Run lists them all).

func (s *suite) refusesStream(t *testing.T) {
	cfg := s.config()
	srv := s.serve(t, cfg, echo)
	c := s.dial(t, srv.ln.Addr(), cfg)
	x, err := c.Open(tctx(t), &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeStream, Method: "svc.stream"})
	if x != nil {
		x.Close()
	}
	if !errors.Is(err, channel.ErrUnsupported) {
		t.Fatalf("Open(ModeStream) on a transport without streams: %v, want ErrUnsupported", err)
	}
}

func (s *suite) testStream(t *testing.T) {
	if !s.caps.Stream {
		s.refusesStream(t)
		return
	}
	cfg := s.config()
	const n = 100
	srv := s.serve(t, cfg, channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		for i := 0; i < n; i++ {
			if err := w.Send(ctx, &channel.Envelope{Type: channel.TypeItem, Data: []byte(fmt.Sprint(i))}); err != nil {
				t.Errorf("Send item %d: %v", i, err)
				return
			}
		}
		if err := w.Send(ctx, &channel.Envelope{Type: channel.TypeEnd}); err != nil {
			t.Errorf("Send end: %v", err)
		}
		if err := w.Send(ctx, &channel.Envelope{Type: channel.TypeItem}); !errors.Is(err, channel.ErrClosed) {
			t.Errorf("Send after end: %v, want ErrClosed", err)
		}
	}))
	c := s.dial(t, srv.ln.Addr(), cfg)
	ctx := tctx(t)
	x, err := c.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeStream, Method: "svc.count"})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	for i := 0; i < n; i++ {
		r, err := x.Recv(ctx)
		if err != nil {
			t.Fatalf("item %d: %v", i, err)
		}
		if r.Type != channel.TypeItem || string(r.Data) != fmt.Sprint(i) {
			t.Fatalf("item %d: got %s %q", i, r.Type, r.Data)
		}
	}
	r, err := x.Recv(ctx)
	if err != nil || r.Type != channel.TypeEnd {
		t.Fatalf("end: got %v, %v", r, err)
	}
	if _, err := x.Recv(ctx); err != io.EOF {
		t.Fatalf("Recv after end: %v, want io.EOF", err)
	}
}

func (s *suite) testStreamFlowControl(t *testing.T) {
	if !s.caps.Stream {
		t.Skip("transport has no streams")
	}
	cfg := s.config()
	window := cfg.StreamWindow
	const n = 40
	var sent atomic.Int64
	progress := make(chan int64, n+1)
	srv := s.serve(t, cfg, channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		big := payload(16<<10, 1)
		for i := 0; i < n; i++ {
			if err := w.Send(ctx, &channel.Envelope{Type: channel.TypeItem, Data: big}); err != nil {
				t.Errorf("Send item %d: %v", i, err)
				return
			}
			progress <- sent.Add(1)
		}
		w.Send(ctx, &channel.Envelope{Type: channel.TypeEnd})
	}))
	c := s.dial(t, srv.ln.Addr(), cfg)
	ctx := tctx(t)
	x, err := c.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeStream, Method: "svc.slow"})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	// The sender gets exactly one window of items through before the reader reads.
	for seen := int64(0); seen < int64(window); {
		select {
		case seen = <-progress:
		case <-ctx.Done():
			t.Fatalf("sender sent %d items, window is %d", sent.Load(), window)
		}
	}
	select {
	case v := <-progress:
		t.Fatalf("sender went past the window of %d without credit (sent %d)", window, v)
	case <-time.After(100 * time.Millisecond):
	}
	for i := 0; i < n; i++ {
		r, err := x.Recv(ctx)
		if err != nil || r.Type != channel.TypeItem {
			t.Fatalf("item %d: %v %v", i, r, err)
		}
		if got := sent.Load(); got > int64(i+1+window) {
			t.Fatalf("after %d reads the sender sent %d items, over the window of %d", i+1, got, window)
		}
	}
	if r, err := x.Recv(ctx); err != nil || r.Type != channel.TypeEnd {
		t.Fatalf("end: %v %v", r, err)
	}
}

func (s *suite) testCancel(t *testing.T) {
	cfg := s.config()
	started := make(chan struct{}, 1)
	cancelled := make(chan struct{}, 1)
	srv := s.serve(t, cfg, channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		started <- struct{}{}
		select {
		case <-ctx.Done():
			cancelled <- struct{}{}
		case <-time.After(wait):
		}
	}))
	c := s.dial(t, srv.ln.Addr(), cfg)
	ctx := tctx(t)
	modes := []channel.Mode{}
	if s.caps.Response {
		modes = append(modes, channel.ModeResponse)
	}
	if s.caps.Stream {
		modes = append(modes, channel.ModeStream)
	}
	if len(modes) == 0 {
		t.Skip("transport has no exchanges that stay open")
	}
	for _, m := range modes {
		x, err := c.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: m, Method: "svc.block"})
		if err != nil {
			t.Fatal(err)
		}
		await(t, ctx, started, "%s: handler did not start", m)
		if err := x.Close(); err != nil {
			t.Fatalf("%s: Exchange.Close: %v", m, err)
		}
		if err := x.Close(); err != nil {
			t.Fatalf("%s: second Exchange.Close: %v", m, err)
		}
		await(t, ctx, cancelled, "%s: handler's ctx was not cancelled after Exchange.Close", m)
	}
}

func (s *suite) testConcurrent(t *testing.T) {
	_, c, ctx := s.echoSetup(t)
	workers, calls := 64, 50
	if testing.Short() {
		workers, calls = 16, 10
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for g := 0; g < workers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < calls; i++ {
				data := []byte(fmt.Sprintf("g%d-c%d", g, i))
				r, err := call(ctx, c, &channel.Envelope{Type: channel.TypeRequest, Mode: s.replyMode(), Method: "svc.echo", Data: data})
				if err != nil {
					errs <- fmt.Errorf("worker %d call %d: %w", g, i, err)
					return
				}
				if s.caps.Response && string(r.Data) != string(data) {
					errs <- fmt.Errorf("worker %d call %d: got %q, want %q (crossed replies)", g, i, r.Data, data)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
