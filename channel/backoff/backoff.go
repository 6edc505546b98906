// Package backoff spaces out retries: waits that grow from a minimum to a maximum, each
// spread at random by a jitter, so that a fleet retrying after the same outage (an etcd
// restart, a receiver going away) does not come back in lockstep. Every retry loop of
// the project uses it.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff yields the waits of one retry loop. The zero value waits 50 ms, doubling up
// to 1 s, each ±20%. It is not safe for concurrent use: one per loop.
type Backoff struct {
	Min, Max time.Duration // first wait and cap (defaults 50 ms, 1 s)
	Factor   float64       // growth per wait (default 2)
	Jitter   float64       // each wait is spread uniformly by ±Jitter of itself (default 0.2; negative: none)

	cur time.Duration
}

// Next returns the wait before the next attempt.
func (b *Backoff) Next() time.Duration {
	lo, hi, f := b.Min, b.Max, b.Factor
	if lo <= 0 {
		lo = 50 * time.Millisecond
	}
	if hi < lo {
		hi = max(lo, time.Second)
	}
	if f <= 1 {
		f = 2
	}
	if b.cur == 0 {
		b.cur = lo
	} else {
		b.cur = min(time.Duration(float64(b.cur)*f), hi)
	}
	j := b.Jitter
	if j == 0 {
		j = 0.2
	}
	if j <= 0 {
		return b.cur
	}
	j = min(j, 1)
	return time.Duration(float64(b.cur) * (1 - j + 2*j*rand.Float64()))
}

// Reset starts again from Min, after a success.
func (b *Backoff) Reset() { b.cur = 0 }

// Wait sleeps for Next, or until ctx ends (then it returns ctx's error).
func (b *Backoff) Wait(ctx context.Context) error {
	t := time.NewTimer(b.Next())
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
