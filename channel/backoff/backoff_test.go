package backoff_test

import (
	"context"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel/backoff"
)

func TestGrowsWithinJitterUpToMax(t *testing.T) {
	b := backoff.Backoff{Min: 10 * time.Millisecond, Max: 80 * time.Millisecond}
	base := []time.Duration{10, 20, 40, 80, 80, 80}
	for i, d := range base {
		d *= time.Millisecond
		got := b.Next()
		if got < d*8/10 || got > d*12/10 {
			t.Fatalf("wait %d: %s, want %s ±20%%", i, got, d)
		}
	}
	b.Reset()
	if got := b.Next(); got > 12*time.Millisecond {
		t.Fatalf("after Reset: %s", got)
	}
}

// Two loops started together do not wait the same: the spread is what keeps a fleet
// from retrying in lockstep.
func TestJitterSpreads(t *testing.T) {
	seen := map[time.Duration]bool{}
	for range 50 {
		var b backoff.Backoff
		seen[b.Next()] = true
	}
	if len(seen) < 10 {
		t.Fatalf("50 first waits took only %d values", len(seen))
	}
	b := backoff.Backoff{Jitter: -1}
	if b.Next() != 50*time.Millisecond {
		t.Fatal("no jitter: want exactly Min")
	}
}

func TestWaitEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b := backoff.Backoff{Min: time.Hour, Max: time.Hour}
	if err := b.Wait(ctx); err != context.Canceled {
		t.Fatalf("Wait: %v", err)
	}
}
