package jesus_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/jesus"
)

// oneWayTransports are the transports whose receivers confirm one-way messages, so that
// a sender can count every one of them.
var oneWayTransports = []string{"tcp", "unix", "http"}

// slowSink serves svc.put, a one-way method whose handler is slower than 64 senders.
func slowSink(got *atomic.Int64) *jesus.Server {
	s := jesus.NewServer("svc")
	var mu sync.Mutex
	x := 0
	jesus.HandleOneWay(s, "put", func(ctx context.Context, n int) error {
		mu.Lock() // one at a time, with some work: slower than the senders
		for i := 0; i < 2000; i++ {
			x += i ^ n
		}
		mu.Unlock()
		got.Add(1)
		return nil
	})
	return s
}

func flood(ctx context.Context, c *jesus.Client, senders, each int) (sent, failed int64) {
	var wg sync.WaitGroup
	var ok, bad atomic.Int64
	for g := 0; g < senders; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if err := jesus.Send(ctx, c, "svc.put", g*each+i); err != nil {
					bad.Add(1)
					continue
				}
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	return ok.Load(), bad.Load()
}

// forEachSlowSink runs f as a subtest on each of oneWayTransports, with a new slowSink
// and the count of the messages its handler got. It checks for leaks first.
func forEachSlowSink(t *testing.T, f func(t *testing.T, tr string, s *jesus.Server, got *atomic.Int64)) {
	leakCheck(t)
	for _, tr := range oneWayTransports {
		t.Run(tr, func(t *testing.T) {
			var got atomic.Int64
			f(t, tr, slowSink(&got), &got)
		})
	}
}

// 64 senders flood a slow one-way handler: every message sent is received, none is
// dropped, no connection is lost, and the receiver's goroutines stay bounded.
func TestOneWayFloodLosesNothing(t *testing.T) {
	const senders, each = 64, 150
	forEachSlowSink(t, func(t *testing.T, tr string, s *jesus.Server, got *atomic.Int64) {
		c := startServer(t, s, listenAddr(t, tr, "msgpack"))
		ctx := ctxT(t)
		before := runtime.NumGoroutine()
		var peak atomic.Int64
		stop := make(chan struct{})
		watched := make(chan struct{})
		go func() {
			defer close(watched)
			for {
				select {
				case <-stop:
					return
				default:
				}
				if n := int64(runtime.NumGoroutine()); n > peak.Load() {
					peak.Store(n)
				}
				runtime.Gosched()
			}
		}()
		sent, failed := flood(ctx, c, senders, each)
		if failed != 0 || sent != senders*each {
			t.Fatalf("sent %d, failed %d of %d", sent, failed, senders*each)
		}
		// Wait until the receiver confirmed all of them: the client's counts say so.
		deadline, _ := ctx.Deadline()
		channeltest.EventuallyState(t, time.Until(deadline), "confirmations", func() (bool, string) {
			st := c.Stats().OneWay
			return st.Delivered+st.Dropped+st.Lost >= uint64(sent), fmt.Sprintf("%+v, handler got %d", st, got.Load())
		})
		close(stop)
		<-watched
		st := c.Stats().OneWay
		if st.Sent != uint64(sent) || st.Dropped != 0 || st.Lost != 0 || st.Delivered != uint64(sent) {
			t.Fatalf("client counts %+v, want %d sent and delivered", st, sent)
		}
		channeltest.EventuallyState(t, time.Until(deadline), "every message at the handler", func() (bool, string) {
			return got.Load() >= sent, fmt.Sprintf("handler got %d of %d", got.Load(), sent)
		})
		ss := s.Stats().OneWay
		if ss.Received != uint64(sent) || ss.Dropped != 0 {
			t.Fatalf("server counts %+v, want %d received, none dropped", ss, sent)
		}
		// Goroutines stay bounded whatever the number of messages: tcp and unix hold
		// what is in flight within the receiver's one-way window; http has at most 256
		// connections per Conn (a goroutine at each end, and one per noResponse call
		// awaiting its 204).
		t.Logf("MEASURE %s: goroutines grew by at most %d during the flood", tr, peak.Load()-int64(before))
		if extra := peak.Load() - int64(before); extra > 1000 {
			t.Fatalf("goroutines grew by %d during the flood", extra)
		}
	})
}

// The server shuts down in the middle of a flood: every message the senders were told
// was sent is either run by the handler or counted as dropped or lost, on both sides.
func TestOneWayFloodShutdownCountsEveryMessage(t *testing.T) {
	const senders, each = 64, 100
	forEachSlowSink(t, func(t *testing.T, tr string, s *jesus.Server, got *atomic.Int64) {
		ctx := ctxT(t)
		bound, err := s.Listen(ctx, listenAddr(t, tr, "msgpack"))
		if err != nil {
			t.Fatal(err)
		}
		c := jesus.NewClient("tester", jesus.WithTarget(bound.String()))
		defer c.Close()
		var shut sync.WaitGroup
		shut.Add(1)
		go func() {
			defer shut.Done()
			for got.Load() < senders*each/4 && ctx.Err() == nil {
				runtime.Gosched()
			}
			if err := s.Shutdown(ctx); err != nil {
				t.Errorf("shutdown: %v", err)
			}
		}()
		sendCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		sent, failed := flood(sendCtx, c, senders, each)
		shut.Wait()
		if sent+failed != senders*each {
			t.Fatalf("sent %d + failed %d != %d", sent, failed, senders*each)
		}
		c.Close() // settles what was unconfirmed as lost
		st := c.Stats().OneWay
		ss := s.Stats().OneWay
		handled := uint64(got.Load())
		if st.Sent != uint64(sent) {
			t.Fatalf("client counted %d sent, the senders %d", st.Sent, sent)
		}
		// Each side's books balance on their own.
		if st.Sent != st.Delivered+st.Dropped+st.Lost {
			t.Fatalf("client: sent %d != delivered %d + dropped %d + lost %d", st.Sent, st.Delivered, st.Dropped, st.Lost)
		}
		if ss.Received != handled+ss.Dropped {
			t.Fatalf("server received %d != handled %d + dropped %d", ss.Received, handled, ss.Dropped)
		}
		// And every message that did not run is counted on one side at least. Over tcp
		// and unix the receiver reports its drops to the sender, so the sender's books
		// say exactly what ran; over http a request the receiver refused after its 204
		// is counted on the receiver only.
		if handled > st.Delivered || st.Sent-handled > st.Dropped+st.Lost+ss.Dropped {
			t.Fatalf("sent %d, handled %d: not every message is accounted for (client %+v, server %+v)", st.Sent, handled, st, ss)
		}
		if tr != "http" && st.Sent != handled+st.Dropped+st.Lost {
			t.Fatalf("sent %d != handled %d + dropped %d + lost %d (client %+v)", st.Sent, handled, st.Dropped, st.Lost, st)
		}
		t.Logf("%s: sent %d, failed to send %d, handled %d, client dropped %d lost %d, server received %d dropped %d",
			tr, sent, failed, handled, st.Dropped, st.Lost, ss.Received, ss.Dropped)
	})
}
