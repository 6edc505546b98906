package udpchan

import (
	"context"
	"net/netip"
	"time"
)

// dedupKey names one ack-mode exchange: ids are unique per sender socket only.
type dedupKey struct {
	peer netip.AddrPort
	id   uint64
}

// dedupEntry is one remembered exchange. While its handler runs it is "in flight"
// (not in the ring, never evicted, bounded by Config.MaxInFlight); once answered it
// holds the reply datagram and sits in the ring until it expires or is evicted.
type dedupEntry struct {
	key      dedupKey
	answered bool
	reply    []byte             // the ack or error datagram re-sent to duplicates; owned
	expires  time.Time          // answered entries only
	cancel   context.CancelFunc // cancels the handler's context (TypeCancel)
}

// dedupTable remembers ack-mode exchanges for the dedup window. It is bounded by
// maxEntries answered entries and maxBytes of cached replies; at either bound the
// oldest answered entry is evicted early. Expiry is swept from the ring's head on every
// lookup, so no goroutine is needed. Not safe for concurrent use (the listener locks).
type dedupTable struct {
	window     time.Duration
	maxEntries int
	maxBytes   int

	m     map[dedupKey]*dedupEntry
	ring  []*dedupEntry // answered entries in answer order, which is expiry order
	head  int
	n     int
	bytes int

	evicted uint64
}

func newDedupTable(window time.Duration, maxEntries, maxBytes int) *dedupTable {
	return &dedupTable{
		window:     window,
		maxEntries: maxEntries,
		maxBytes:   maxBytes,
		m:          make(map[dedupKey]*dedupEntry),
		ring:       make([]*dedupEntry, maxEntries),
	}
}

// get returns the live entry for k, if any, after dropping expired ones.
func (t *dedupTable) get(k dedupKey, now time.Time) *dedupEntry {
	t.sweep(now)
	return t.m[k]
}

// sweep drops the entries whose window has ended. Expired entries are never used, and
// the memory they hold is bounded anyway; sweeping on every lookup returns it as soon
// as ack traffic continues, with no timer goroutine.
func (t *dedupTable) sweep(now time.Time) {
	for t.n > 0 && !t.ring[t.head].expires.After(now) {
		t.pop()
	}
}

// begin records k as in flight. The caller has checked that get(k) is nil.
func (t *dedupTable) begin(k dedupKey, cancel context.CancelFunc) *dedupEntry {
	e := &dedupEntry{key: k, cancel: cancel}
	t.m[k] = e
	return e
}

// answer records the reply of an in-flight entry (nil when none could be sent) and
// starts its dedup window. Repeated calls do nothing.
func (t *dedupTable) answer(e *dedupEntry, reply []byte, now time.Time) {
	if e.answered || t.m[e.key] != e {
		return
	}
	if len(reply) > t.maxBytes {
		reply = nil // never cached: duplicates are dropped instead of answered
	}
	for t.n > 0 && (t.n == t.maxEntries || t.bytes+len(reply) > t.maxBytes) {
		t.pop()
		t.evicted++
	}
	e.answered, e.reply, e.expires, e.cancel = true, reply, now.Add(t.window), nil
	t.ring[(t.head+t.n)%len(t.ring)] = e
	t.n++
	t.bytes += len(reply)
}

// forget removes an entry that never got answered, e.g. when the listener closed.
func (t *dedupTable) forget(e *dedupEntry) {
	if !e.answered && t.m[e.key] == e {
		delete(t.m, e.key)
	}
}

func (t *dedupTable) pop() {
	e := t.ring[t.head]
	t.ring[t.head] = nil
	t.head = (t.head + 1) % len(t.ring)
	t.n--
	t.bytes -= len(e.reply)
	if t.m[e.key] == e {
		delete(t.m, e.key)
	}
}

func (t *dedupTable) len() int { return len(t.m) }
