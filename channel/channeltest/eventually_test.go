package channeltest_test

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel/channeltest"
)

// fatalRecorder is a testing.TB whose Fatalf records the message and ends the calling
// goroutine, as testing.T's does.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Helper() {}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// failure runs wait against a fatalRecorder and returns its failure message, "" when it
// returned without one.
func failure(t *testing.T, wait func(testing.TB)) string {
	t.Helper()
	r := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		wait(r)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the wait did not end")
	}
	return r.msg
}

func TestEventuallyReturnsOnceCondHolds(t *testing.T) {
	var calls atomic.Int64
	took := channeltest.Eventually(t, 10*time.Second, "the third call", func() bool { return calls.Add(1) >= 3 })
	if calls.Load() != 3 {
		t.Fatalf("cond called %d times, want 3", calls.Load())
	}
	if took <= 0 || took > 5*time.Second {
		t.Fatalf("took %s", took)
	}
}

func TestEventuallyTimesOut(t *testing.T) {
	msg := failure(t, func(tb testing.TB) {
		channeltest.Eventually(tb, 20*time.Millisecond, "nothing", func() bool { return false })
	})
	if want := "timed out after 20ms waiting for nothing"; msg != want {
		t.Fatalf("failure %q, want %q", msg, want)
	}
}

func TestEventuallyStateShowsTheLastState(t *testing.T) {
	var n atomic.Int64
	msg := failure(t, func(tb testing.TB) {
		channeltest.EventuallyState(tb, 20*time.Millisecond, "the count to reach -1", func() (bool, string) {
			return false, fmt.Sprintf("count %d", n.Add(1))
		})
	})
	if want := fmt.Sprintf("timed out after 20ms waiting for the count to reach -1; last seen: count %d", n.Load()); msg != want {
		t.Fatalf("failure %q, want %q", msg, want)
	}
	if n.Load() < 2 {
		t.Fatalf("cond called %d times in 20ms", n.Load())
	}
	if msg := failure(t, func(tb testing.TB) {
		channeltest.EventuallyState(tb, time.Second, "a state", func() (bool, string) { return n.Add(1) > 0, "seen" })
	}); msg != "" {
		t.Fatalf("a cond that holds failed with %q", msg)
	}
}
