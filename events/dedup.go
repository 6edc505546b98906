package events

import (
	"sync"
	"time"
)

// dedupWindow remembers event ids for a window, bounded in entries. Ids expire in the
// order they were added (the window is the same for all), so a FIFO queue is enough: the
// front is swept when expired, and dropped early (evicted) at the bound.
type dedupWindow struct {
	window time.Duration
	max    int

	mu      sync.Mutex
	seen    map[string]struct{}
	queue   []dedupItem // FIFO; head is the oldest
	head    int
	evicted uint64
}

type dedupItem struct {
	key     string
	expires time.Time
}

func newDedupWindow(window time.Duration, max int) *dedupWindow {
	return &dedupWindow{window: window, max: max, seen: map[string]struct{}{}}
}

// first reports whether key is new within the window, and remembers it.
func (d *dedupWindow) first(key string, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sweep(now)
	if _, dup := d.seen[key]; dup {
		return false
	}
	for len(d.seen) >= d.max {
		d.pop()
		d.evicted++
	}
	d.seen[key] = struct{}{}
	d.queue = append(d.queue, dedupItem{key, now.Add(d.window)})
	return true
}

func (d *dedupWindow) sweep(now time.Time) {
	for d.head < len(d.queue) && !now.Before(d.queue[d.head].expires) {
		d.pop()
	}
}

func (d *dedupWindow) pop() {
	delete(d.seen, d.queue[d.head].key)
	d.queue[d.head] = dedupItem{}
	d.head++
	// Compact once the dead prefix is half the slice, so memory follows the live entries.
	if d.head > 64 && d.head*2 >= len(d.queue) {
		n := copy(d.queue, d.queue[d.head:])
		clear(d.queue[n:])
		d.queue = d.queue[:n]
		d.head = 0
	}
}

func (d *dedupWindow) len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.seen)
}

func (d *dedupWindow) evictedCount() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.evicted
}

// streams tracks, per sender stream (source id and event), the highest sequence number
// seen and how many arrived, so that lost = highest - arrived. A late (reordered) arrival
// fills its gap. Losses after a stream's last arrival cannot be seen.
type streams struct {
	max int

	mu    sync.Mutex
	m     map[streamKey]*stream
	total int64 // sum over streams of highest - arrived, plus that of streams forgotten
}

type streamKey struct{ src, event string }

type stream struct {
	highest, arrived uint64
}

// maxStreams bounds the tracked sender streams; past it, all are forgotten (their losses
// stay counted) and tracking starts again.
const maxStreams = 4096

func newStreams(max int) *streams { return &streams{max: max, m: map[streamKey]*stream{}} }

// arrive records sequence number seq (≥ 1) of a stream.
func (s *streams) arrive(k streamKey, seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.m[k]
	if st == nil {
		if len(s.m) >= s.max {
			clear(s.m)
		}
		st = &stream{}
		s.m[k] = st
	}
	st.arrived++
	if seq > st.highest {
		s.total += int64(seq - st.highest)
		st.highest = seq
	}
	s.total--
}

func (s *streams) lost() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return uint64(max(s.total, 0))
}
