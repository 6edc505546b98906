package jesus

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestDeadlineCtx: the handler's deadline context behaves as context.WithDeadline's,
// whether or not anyone waits on it.
func TestDeadlineCtx(t *testing.T) {
	wait := func(ch <-chan struct{}) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatal("Done never closed")
		}
	}
	t.Run("past deadline, nobody waiting", func(t *testing.T) {
		var c deadlineCtx
		c.reset(context.Background(), time.Now().Add(-time.Millisecond))
		defer c.release()
		if err := c.Err(); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Err %v", err)
		}
	})
	t.Run("deadline reached while waiting", func(t *testing.T) {
		var c deadlineCtx
		c.reset(context.Background(), time.Now().Add(20*time.Millisecond))
		defer c.release()
		if c.Err() != nil {
			t.Fatal("done early")
		}
		wait(c.Done())
		if !errors.Is(c.Err(), context.DeadlineExceeded) || !errors.Is(context.Cause(&c), context.DeadlineExceeded) {
			t.Fatalf("Err %v, Cause %v", c.Err(), context.Cause(&c))
		}
	})
	t.Run("parent cancelled", func(t *testing.T) {
		parent, cancel := context.WithCancel(context.Background())
		var c deadlineCtx
		c.reset(parent, time.Now().Add(time.Hour))
		defer c.release()
		child, stop := context.WithCancel(&c) // waits on Done
		defer stop()
		cancel()
		wait(child.Done())
		if !errors.Is(c.Err(), context.Canceled) {
			t.Fatalf("Err %v", c.Err())
		}
	})
	t.Run("released", func(t *testing.T) {
		var c deadlineCtx
		c.reset(context.Background(), time.Now().Add(time.Hour))
		child, stop := context.WithCancel(&c)
		defer stop()
		c.release()
		wait(child.Done())
		var d deadlineCtx
		d.reset(context.Background(), time.Now().Add(time.Hour))
		d.release()
		if !errors.Is(d.Err(), context.Canceled) {
			t.Fatalf("Err after release %v", d.Err())
		}
		wait(d.Done())
	})
	t.Run("earlier parent deadline", func(t *testing.T) {
		at := time.Now().Add(time.Minute)
		parent, cancel := context.WithDeadline(context.Background(), at)
		defer cancel()
		var c deadlineCtx
		c.reset(parent, at.Add(time.Hour))
		defer c.release()
		if d, ok := c.Deadline(); !ok || !d.Equal(at) {
			t.Fatalf("Deadline %v %v", d, ok)
		}
	})
}
