package journal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"github.com/jesus-go/jesus/jesus"
)

// ErrNotPending is returned by Commit when the request its context names is no longer in
// the journal: it was committed before, or its handler has returned.
var ErrNotPending = errors.New("journal: the request is no longer pending")

// Commit runs fn in a write transaction of the journal's file that also ends the request
// whose handler runs with ctx (jesus.JournalFromContext): its entry is removed and its key
// (WithKey) is remembered as done from now on for the dedup window. When Commit returns
// nil all of it is on disk; when the process dies before, none of it is, the request is
// still pending and runs again at the next start. An effect written in fn therefore
// happens exactly once per accepted request, and a sender's retry of it is acked without
// running while its key is remembered.
//
// fn keeps its data in buckets of its own (the buckets "pending" and "keys" are the
// journal's); View reads them. Commit shares disk commits among concurrent requests as
// bbolt's DB.Batch does, so fn may run more than once and only its last run counts: it
// must do nothing but work on tx. An error from fn is returned and nothing is committed;
// the request ends as any failed one-way request does when its handler returns.
//
// A request commits once: a second Commit returns ErrNotPending without running fn, as
// does one after the handler returned (a goroutine it left behind). With a context of no
// journaled request (a noResponse call, no handler at all) fn runs in a transaction of its
// own; with that of a request kept in another journal Commit refuses.
func (j *Journal) Commit(ctx context.Context, fn func(tx *bbolt.Tx) error) error {
	owner, seq, ok := jesus.JournalFromContext(ctx)
	if ok && owner != jesus.Journal(j) {
		return fmt.Errorf("journal %s: the request is kept in another journal", j.path)
	}
	return j.commit(seq, fn)
}

// commit runs fn and, when seq is not 0, ends the request seq in the same transaction.
func (j *Journal) commit(seq uint64, fn func(tx *bbolt.Tx) error) error {
	return j.db.Batch(func(tx *bbolt.Tx) error {
		if seq == 0 {
			return fn(tx)
		}
		p := tx.Bucket(bucketPending)
		doc := p.Get(u64(seq))
		if doc == nil {
			return ErrNotPending
		}
		var e struct {
			Key string `json:"key"`
		}
		if err := json.Unmarshal(doc, &e); err != nil {
			return fmt.Errorf("journal %s: entry %d: %w", j.path, seq, err)
		}
		if err := fn(tx); err != nil {
			return err
		}
		if err := p.Delete(u64(seq)); err != nil {
			return err
		}
		if e.Key == "" {
			return nil
		}
		return tx.Bucket(bucketKeys).Put([]byte(e.Key), u64(uint64(time.Now().UnixNano())))
	})
}

// View runs fn in a read-only transaction of the journal's file: how a service reads what
// its handlers committed.
func (j *Journal) View(fn func(tx *bbolt.Tx) error) error { return j.db.View(fn) }
