package udptest

import (
	"sync/atomic"
	"time"
)

// Window is a credit window for benchmarks of one-way traffic: the sender takes a credit
// per message and the receiver gives one back per message it got, so that a benchmark
// measures the rate delivered, not how fast a sender can overflow the receiver's socket
// buffer. A sender that finds the window full waits until half of it is back, so that the
// two sides do not wake each other for every message (a wake-up costs more than a small
// message). A lost datagram never gives its credit back: when no credit comes back for
// Stall, the credits in flight are written off and counted in Lost.
//
// One goroutine sends (Take, Drain); any number may Give.
type Window struct {
	size, low int64
	stall     time.Duration
	inflight  atomic.Int64
	waiting   atomic.Bool
	wake      chan struct{}
	lost      atomic.Int64
}

// NewWindow returns a window of size credits that writes off lost ones after stall.
func NewWindow(size int, stall time.Duration) *Window {
	return &Window{size: int64(size), low: int64(size / 2), stall: stall, wake: make(chan struct{}, 1)}
}

// Take takes a credit, waiting while the window is full.
func (w *Window) Take() {
	for w.inflight.Load() >= w.size {
		w.await(w.low)
	}
	w.inflight.Add(1)
}

// Give returns a credit.
func (w *Window) Give() {
	if n := w.inflight.Add(-1); n <= w.low && w.waiting.Load() {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// Drain waits until every credit is back or written off.
func (w *Window) Drain() {
	for w.inflight.Load() > 0 {
		w.await(0)
	}
}

// Lost is how many credits were written off.
func (w *Window) Lost() int64 { return w.lost.Load() }

// await waits until at most target credits are in flight, or writes off the rest after
// Stall without one coming back.
func (w *Window) await(target int64) {
	w.waiting.Store(true)
	defer w.waiting.Store(false)
	t := time.NewTimer(w.stall)
	defer t.Stop()
	for {
		n := w.inflight.Load()
		if n <= target {
			return
		}
		select {
		case <-w.wake:
		case <-t.C:
			if now := w.inflight.Load(); now == n {
				w.lost.Add(now)
				w.inflight.Add(-now)
				return
			}
			t.Reset(w.stall)
		}
	}
}
