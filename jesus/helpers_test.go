package jesus_test

import (
	"context"
	"fmt"
	"iter"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel/channeltest"

	"github.com/jesus-go/jesus/jesus"
)

// leakCheck fails the test on goroutines left running after it.
var leakCheck = channeltest.CheckLeaks

// listenAddr returns a spec with a free loopback address (or socket path) for transport tr.
func listenAddr(t *testing.T, tr, codecName string) string {
	t.Helper()
	name := tr + "+" + codecName
	if tr == "unix" {
		return name + "://" + filepath.Join(t.TempDir(), "s.sock")
	}
	return name + "://127.0.0.1:0"
}

// startServer starts s on spec and returns a client that targets it; both stop at cleanup.
func startServer(t *testing.T, s *jesus.Server, spec string, opts ...jesus.Option) *jesus.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bound, err := s.Listen(ctx, spec)
	if err != nil {
		t.Fatalf("listen %s: %v", spec, err)
	}
	c := jesus.NewClient("tester", append([]jesus.Option{jesus.WithTarget(bound.String())}, opts...)...)
	t.Cleanup(func() {
		c.Close()
		s.Close()
	})
	return c
}

func ctxT(t *testing.T) context.Context {
	t.Helper()
	return channeltest.Context(t, 20*time.Second)
}

type Line struct {
	SKU   string  `json:"sku"`
	Qty   int     `json:"qty"`
	Price float64 `json:"price"`
}

type Order struct {
	ID       string `json:"id"`
	Customer string `json:"customer"`
	Lines    []Line `json:"lines"`
	Total    int64  `json:"total"`
}

type Receipt struct {
	OrderID string `json:"orderId"`
	Status  string `json:"status"`
	CorrID  string `json:"corrId"`
}

func sampleOrder(id string, lines int) Order {
	o := Order{ID: id, Customer: "c-" + strings.Repeat("x", 8)}
	for i := 0; i < lines; i++ {
		o.Lines = append(o.Lines, Line{SKU: "sku-" + id, Qty: i + 1, Price: 9.99})
		o.Total += int64(i+1) * 999
	}
	return o
}

// iterPull turns a stream into a pull iterator (next returns item, error, ok).
func iterPull[K, V any](seq iter.Seq2[K, V]) (func() (K, V, bool), func()) { return iter.Pull2(seq) }

// waitStable waits until a counter has stopped growing for 200 ms (a stalled sender has
// nothing to signal, so its counter is polled), bounded by 10 s.
func waitStable(t *testing.T, n *atomic.Int64) {
	t.Helper()
	last, since := n.Load(), time.Now()
	channeltest.EventuallyState(t, 10*time.Second, "the counter to stop growing", func() (bool, string) {
		if cur := n.Load(); cur != last {
			last, since = cur, time.Now()
		}
		return time.Since(since) >= 200*time.Millisecond, fmt.Sprintf("at %d", last)
	})
}

// waitFor waits until cond holds (channeltest.Eventually): a counter has nothing to wait on.
func waitFor(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	return channeltest.Eventually(t, 15*time.Second, what, cond)
}
