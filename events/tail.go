package events

import (
	"sync"
	"sync/atomic"
)

// tails are the Tail subscribers of a bus.
type tails struct {
	buf    int
	n      atomic.Int32 // subscribers, read without the lock on the hot path
	mu     sync.RWMutex
	subs   map[chan Record]struct{}
	closed bool
}

func (t *tails) active() bool { return t.n.Load() > 0 }

func (t *tails) add() (<-chan Record, func()) {
	ch := make(chan Record, t.buf)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		close(ch)
		return ch, func() {}
	}
	if t.subs == nil {
		t.subs = map[chan Record]struct{}{}
	}
	t.subs[ch] = struct{}{}
	t.n.Add(1)
	return ch, func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		if _, ok := t.subs[ch]; ok {
			delete(t.subs, ch)
			t.n.Add(-1)
			close(ch)
		}
	}
}

func (t *tails) send(r Record, dropped *atomic.Uint64) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for ch := range t.subs {
		select {
		case ch <- r:
		default:
			dropped.Add(1)
		}
	}
}

func (t *tails) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	t.closed = true
	for ch := range t.subs {
		close(ch)
	}
	t.subs = nil
	t.n.Store(0)
}
