package events

import (
	"fmt"
	"testing"
	"time"
)

func TestDedupWindowExpiresAndBounds(t *testing.T) {
	now := time.Unix(1000, 0)
	d := newDedupWindow(time.Minute, 3)
	for _, k := range []string{"a", "b", "c"} {
		if !d.first(k, now) {
			t.Fatalf("%s seen as a duplicate", k)
		}
	}
	if d.first("b", now.Add(time.Second)) {
		t.Fatal("b within the window not suppressed")
	}
	// At the bound the oldest id is forgotten early, and counted.
	if !d.first("d", now.Add(2*time.Second)) || d.evictedCount() != 1 || d.len() != 3 {
		t.Fatalf("bound: evicted %d, len %d", d.evictedCount(), d.len())
	}
	if !d.first("a", now.Add(3*time.Second)) {
		t.Fatal("an evicted id must be new again (the documented cost of the bound)")
	}
	// After the window everything is forgotten without eviction.
	later := now.Add(2 * time.Minute)
	if !d.first("c", later) || d.len() != 1 || d.evictedCount() != 2 {
		t.Fatalf("expiry: len %d evicted %d", d.len(), d.evictedCount())
	}
}

func TestDedupWindowMemoryFollowsLiveEntries(t *testing.T) {
	now := time.Unix(1000, 0)
	d := newDedupWindow(time.Millisecond, 1<<20)
	for i := range 100_000 {
		d.first(fmt.Sprint(i), now.Add(time.Duration(i)*time.Millisecond))
	}
	if d.len() > 2 || len(d.queue)-d.head > 2 || cap(d.queue) > 1<<12 {
		t.Fatalf("len %d, queue %d live of cap %d", d.len(), len(d.queue)-d.head, cap(d.queue))
	}
}

func TestStreamsCountGapsAndLateArrivals(t *testing.T) {
	s := newStreams(2)
	a := streamKey{"src-a", "log"}
	for _, seq := range []uint64{1, 2, 5, 6} { // 3 and 4 missing
		s.arrive(a, seq)
	}
	if s.lost() != 2 {
		t.Fatalf("lost %d, want 2", s.lost())
	}
	s.arrive(a, 3) // late, reordered
	if s.lost() != 1 {
		t.Fatalf("after a late arrival lost %d, want 1", s.lost())
	}
	b := streamKey{"src-b", "log"}
	s.arrive(b, 10) // a stream first seen at 10: 9 lost before it
	if s.lost() != 10 {
		t.Fatalf("lost %d, want 10", s.lost())
	}
	// Past the bound streams are forgotten; what they lost stays counted.
	s.arrive(streamKey{"src-c", "log"}, 1)
	if s.lost() != 10 || len(s.m) != 1 {
		t.Fatalf("after the bound lost %d, streams %d", s.lost(), len(s.m))
	}
}

func TestReadMeta(t *testing.T) {
	cases := []struct {
		name  string
		extra map[string]string
		ok    bool
	}{
		{"minimal", map[string]string{"event-id": "e1"}, true},
		{"http canonical keys", map[string]string{"Event": "log", "Event-Id": "e1", "Seq": "7", "Src": "s"}, true},
		{"no id", map[string]string{"event": "log"}, false},
		{"other event", map[string]string{"event": "order.created", "event-id": "e1"}, false},
		{"seq without src", map[string]string{"event-id": "e1", "seq": "1"}, false},
		{"seq zero", map[string]string{"event-id": "e1", "seq": "0", "src": "s"}, false},
		{"seq not decimal", map[string]string{"event-id": "e1", "seq": "0x10", "src": "s"}, false},
		{"seq too large", map[string]string{"event-id": "e1", "seq": "18446744073709551615", "src": "s"}, false},
	}
	for _, c := range cases {
		in, err := readMeta(c.extra, "log")
		if (err == nil) != c.ok {
			t.Errorf("%s: err %v", c.name, err)
		}
		if c.name == "http canonical keys" && (in.seq != 7 || in.src != "s" || in.id != "e1") {
			t.Errorf("%s: %+v", c.name, in)
		}
	}
}
