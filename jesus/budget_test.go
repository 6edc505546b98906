package jesus_test

import (
	"context"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/codec"
	"github.com/jesus-go/jesus/jesus"
)

// TestDecompressionBombsWithinTheBudget: 128 concurrent requests that are small on the
// wire and decompress to just under MaxDecompressed (4 MiB) are admitted only as far as
// the server's memory budget can hold them; the rest are refused with
// resource_exhausted before they are decompressed, ordinary requests keep working, and
// the budget is whole again afterwards.
func TestDecompressionBombsWithinTheBudget(t *testing.T) {
	leakCheck(t)
	const budget = 32 << 20
	s := jesus.NewServer("svc", jesus.WithChannelConfig(channel.Config{MemoryBudget: budget}))
	var running atomic.Int64
	gate := make(chan struct{})
	jesus.HandleOneWay(s, "take", func(ctx context.Context, req string) error {
		running.Add(1)
		defer running.Add(-1)
		if len(req) > 1<<20 {
			<-gate // hold the decoded bomb until every bomb has been answered
		}
		return nil
	})
	c := startServer(t, s, listenAddr(t, "tcp", "json+gzip"))
	ctx := ctxT(t)
	pl, err := codec.NewRegistry(codec.Limits{}).Pipeline("json+gzip")
	if err != nil {
		t.Fatal(err)
	}
	bomb, err := pl.Compress(nil, []byte(`"`+strings.Repeat("a", 4<<20-64)+`"`))
	if err != nil {
		t.Fatal(err)
	}
	route := jesus.NewRoute(s.Channels()[0], "")
	var before, during runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	const bombs = 128
	results := make(chan error, bombs)
	for range bombs {
		go func() {
			results <- c.Do(ctx, &jesus.Request{Method: "svc.take", Mode: jesus.ModeAck, Codec: "json+gzip", Data: bomb, Route: route})
		}()
	}
	acked := 0
	for range bombs {
		switch err := <-results; {
		case err == nil:
			acked++
		case jesus.CodeOf(err) != jesus.CodeResourceExhausted || !strings.Contains(err.Error(), "memory budget"):
			t.Fatalf("a bomb over the budget: %v", err)
		}
	}
	runtime.ReadMemStats(&during)
	st := s.Stats()
	close(gate)
	t.Logf("MEASURE %d bombs of %d bytes (4 MiB decompressed) against a %d MiB budget: %d admitted, %d refused; heap in use +%.1f MiB while the admitted were held",
		bombs, len(bomb), budget>>20, acked, bombs-acked, float64(int64(during.HeapInuse)-int64(before.HeapInuse))/(1<<20))
	// Each admitted bomb holds 3 × 4 MiB of the budget until its handler returns.
	if acked > budget/(3*(4<<20)) || st.MemoryUsed > budget || st.MemoryRefused == 0 {
		t.Fatalf("%d admitted, stats %+v", acked, st)
	}
	channeltest.Eventually(t, 10*time.Second, "the budget given back", func() bool {
		return running.Load() == 0 && s.Stats().MemoryUsed < 1<<20
	})
	if err := jesus.Ack(ctx, c, "svc.take", "ordinary"); err != nil {
		t.Fatalf("an ordinary request after the bombs: %v", err)
	}
}
