package jesus_test

import (
	"context"
	"sync"
	"testing"

	"github.com/jesus-go/jesus/channel/udpchan/udptest"
	"github.com/jesus-go/jesus/jesus"
)

// TestUDPAckThroughLossyPath: ack mode over a path that drops 30% of datagrams both ways
// still delivers every request, and the dedup on the receiver keeps duplicates from the
// handler.
func TestUDPAckThroughLossyPath(t *testing.T) {
	leakCheck(t)
	s := jesus.NewServer("logs")
	var mu sync.Mutex
	seen := map[int]int{}
	jesus.HandleOneWay(s, "write", func(ctx context.Context, n int) error {
		mu.Lock()
		seen[n]++
		mu.Unlock()
		return nil
	})
	ctx := ctxT(t)
	bound, err := s.Listen(ctx, "udp+msgpack://127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	proxy := udptest.NewLossyProxy(t, bound.Addr, 0.3, 7)
	c := jesus.NewClient("t", jesus.WithTarget("udp+msgpack://"+proxy.Addr()))
	defer c.Close()

	const n = 300
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 16)
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs <- jesus.Ack(ctx, c, "logs.write", i)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("ack: %v", err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for i := 0; i < n; i++ {
		if seen[i] != 1 {
			t.Fatalf("request %d reached the handler %d times", i, seen[i])
		}
	}
	t.Logf("%d acked requests through 30%% loss: proxy forwarded %d, dropped %d datagrams", n, proxy.Forwarded(), proxy.Dropped())
}
