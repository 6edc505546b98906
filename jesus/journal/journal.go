// Package journal makes a jesus server's "ack" mean "it will run": it keeps every
// accepted ack-mode request in a bbolt file (go.etcd.io/bbolt) from before the ack until
// its handler has ended it, and the server replays what a process that died left behind
// (jesus.WithJournal). Requests with an idempotency key (WithKey) are also remembered for
// a window, so that a sender's retry after a lost ack is acked again without running
// twice, across restarts too.
//
// What it promises for an acked request, while the journal file survives:
//
//   - Exactly once, for an effect the handler writes into the journal's file with Commit
//     (the inbox pattern of transactional messaging). The effect, the removal of the
//     request's entry and its key's "done" are one bbolt transaction: a kill leaves the
//     request either pending with nothing of its effect on disk (it runs again at the next
//     start) or done (it never runs again). A sender's retry after a lost ack is acked
//     without running when the request has a key (WithKey) still remembered.
//   - At least once, for everything else a handler does: a handler that does not call
//     Commit, and whatever a committing one does outside its transaction (a call to
//     another service, a file). A handler killed after its work and before its entry was
//     removed runs again after the restart. Only the requests whose handlers had not
//     returned at the kill can: each such run is counted in the server's
//     ServerStats.Replayed. These effects are made idempotent by the request's key.
//
// A sender's retry of a request without a key, or after its key was forgotten (the window
// and bound of WithDedupWindow), runs as a new request. noResponse requests are not
// journaled.
package journal

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"go.etcd.io/bbolt"

	"github.com/jesus-go/jesus/jesus"
)

var (
	bucketPending = []byte("pending") // seq (u64be) -> JSON JournalEntry
	bucketKeys    = []byte("keys")    // key -> accepted at (u64be unix nanoseconds)
)

// Journal is a jesus.Journal in one bbolt file. It is safe for concurrent use; one
// process at a time may open a file.
type Journal struct {
	db      *bbolt.DB
	path    string
	key     func(jesus.Meta) string
	window  time.Duration
	maxKeys int
	appends uint64 // under db's write lock (Batch): when to sweep old keys
}

// Option configures a Journal.
type Option func(*Journal)

// WithKey sets how a request's idempotency key is found in its meta (default: none, no
// deduplication). Package events gives events.JournalKey, the event's id.
func WithKey(f func(jesus.Meta) string) Option { return func(j *Journal) { j.key = f } }

// WithDedupWindow sets how long a key is remembered after its request was accepted (or
// committed, see Commit) and how many keys at most (default 10 min, 100000); past the bound the oldest go first.
func WithDedupWindow(d time.Duration, maxKeys int) Option {
	return func(j *Journal) { j.window, j.maxKeys = d, maxKeys }
}

// Open opens (or creates) the journal file at path. A file another process has open is
// refused after a second.
func Open(path string, opts ...Option) (*Journal, error) {
	j := &Journal{path: path, window: 10 * time.Minute, maxKeys: 100_000}
	for _, o := range opts {
		o(j)
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	// Appends and removals of concurrent requests share commits (Batch), waiting at most a
	// millisecond for company: the time between a handler's end and its removal is the
	// time in which a kill makes it run again.
	db.MaxBatchDelay = time.Millisecond
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bucketPending, bucketKeys} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	j.db = db
	return j, nil
}

// Close closes the file. Requests still pending stay in it for the next Open.
func (j *Journal) Close() error { return j.db.Close() }

// Append implements jesus.Journal: the entry is on disk when it returns.
func (j *Journal) Append(e *jesus.JournalEntry) (uint64, error) {
	if j.key != nil {
		e.Key = j.key(e.Meta)
	}
	var seq uint64
	err := j.db.Batch(func(tx *bbolt.Tx) error {
		keys := tx.Bucket(bucketKeys)
		now := time.Now()
		if e.Key != "" {
			if at := keys.Get([]byte(e.Key)); at != nil && now.Sub(unixNano(at)) < j.window {
				return jesus.ErrDuplicate
			}
		}
		p := tx.Bucket(bucketPending)
		s, err := p.NextSequence()
		if err != nil {
			return err
		}
		// e.Seq is set inside the document too: a batch may run this function again, so
		// the document is re-encoded with the sequence it finally gets.
		e.Seq = s
		doc, err := json.Marshal(e)
		if err != nil {
			return err
		}
		if err := p.Put(u64(s), doc); err != nil {
			return err
		}
		if e.Key != "" {
			if err := keys.Put([]byte(e.Key), u64(uint64(now.UnixNano()))); err != nil {
				return err
			}
			if j.appends++; j.appends%1024 == 0 {
				j.sweep(keys, now)
			}
		}
		seq = s
		return nil
	})
	if err != nil {
		return 0, err
	}
	return seq, nil
}

// sweep forgets keys older than the window, then the oldest past maxKeys (keys grow by
// at most 1024 between sweeps).
func (j *Journal) sweep(keys *bbolt.Bucket, now time.Time) {
	type kept struct {
		k  []byte
		at time.Time
	}
	var live []kept
	var expired [][]byte
	c := keys.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		k = append([]byte(nil), k...)
		if at := unixNano(v); now.Sub(at) < j.window {
			live = append(live, kept{k, at})
		} else {
			expired = append(expired, k)
		}
	}
	if over := len(live) - j.maxKeys; over > 0 {
		slices.SortFunc(live, func(a, b kept) int { return a.at.Compare(b.at) })
		for _, o := range live[:over] {
			expired = append(expired, o.k)
		}
	}
	for _, k := range expired {
		_ = keys.Delete(k)
	}
}

// Remove implements jesus.Journal. A request no longer pending (its handler committed,
// see Commit) costs a read and no write.
func (j *Journal) Remove(seq uint64) error {
	pending := false
	err := j.db.View(func(tx *bbolt.Tx) error {
		pending = tx.Bucket(bucketPending).Get(u64(seq)) != nil
		return nil
	})
	if err != nil || !pending {
		return err
	}
	return j.db.Batch(func(tx *bbolt.Tx) error { return tx.Bucket(bucketPending).Delete(u64(seq)) })
}

// Pending implements jesus.Journal: the requests not finished, oldest first.
func (j *Journal) Pending() ([]jesus.JournalEntry, error) {
	var out []jesus.JournalEntry
	err := j.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketPending).ForEach(func(k, v []byte) error {
			var e jesus.JournalEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("entry %d: %w", binary.BigEndian.Uint64(k), err)
			}
			e.Seq = binary.BigEndian.Uint64(k)
			out = append(out, e)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", j.path, err)
	}
	return out, nil
}

// Len is how many requests are pending.
func (j *Journal) Len() int {
	n := 0
	_ = j.db.View(func(tx *bbolt.Tx) error { n = tx.Bucket(bucketPending).Stats().KeyN; return nil })
	return n
}

func u64(n uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	return b[:]
}

func unixNano(b []byte) time.Time {
	if len(b) != 8 {
		return time.Time{}
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(b)))
}

var _ jesus.Journal = (*Journal)(nil)
