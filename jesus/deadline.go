package jesus

import (
	"context"
	"sync"
	"time"
)

// deadlineCtx is context.WithDeadline(parent, at) without its timer until someone waits:
// most handlers never select on Done, and a timer per request (set and stopped, under the
// runtime's timer locks) was one of the larger costs of a small call. Deadline and Err
// answer from the clock; the first Done (a select, a derived context, an outgoing call
// that waits) makes the real context.WithDeadline, which every later method follows.
type deadlineCtx struct {
	context.Context // the parent
	at              time.Time

	mu     sync.Mutex
	real   context.Context // once made, the context all methods follow
	cancel context.CancelFunc
	ended  bool // released: the call is over, so the context is cancelled
}

func (c *deadlineCtx) reset(parent context.Context, at time.Time) {
	c.Context, c.at, c.real, c.cancel, c.ended = parent, at, nil, nil, false
}

func (c *deadlineCtx) Deadline() (time.Time, bool) {
	if d, ok := c.Context.Deadline(); ok && d.Before(c.at) {
		return d, true
	}
	return c.at, true
}

func (c *deadlineCtx) made() (context.Context, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.real, c.ended
}

func (c *deadlineCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.real == nil {
		c.real, c.cancel = context.WithDeadline(c.Context, c.at)
		if c.ended {
			c.cancel()
		}
	}
	return c.real.Done()
}

func (c *deadlineCtx) Err() error {
	r, ended := c.made()
	if r != nil {
		return r.Err()
	}
	if ended {
		return context.Canceled
	}
	if err := c.Context.Err(); err != nil {
		return err
	}
	if !time.Now().Before(c.at) {
		return context.DeadlineExceeded
	}
	return nil
}

func (c *deadlineCtx) Value(key any) any {
	if r, _ := c.made(); r != nil {
		return r.Value(key) // context.Cause finds the deadline's cancellation
	}
	return c.Context.Value(key)
}

// release ends the context, as the cancel of context.WithDeadline does, and stops the
// timer if one was made.
func (c *deadlineCtx) release() {
	c.mu.Lock()
	c.ended = true
	if c.cancel != nil {
		c.cancel()
	}
	c.mu.Unlock()
}
