package events

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"go.etcd.io/bbolt"

	"github.com/jesus-go/jesus/channel/backoff"
	"github.com/jesus-go/jesus/jesus"
)

// The outbox (WithOutbox) keeps every ack event from before its first send until every
// listening service acknowledged it, in a bbolt file that survives the emitter's
// restart. A background loop retries the services that did not acknowledge, with
// backoff, until they do or the event is older than the outbox's maximum age; then, or
// at once for a refusal that retrying cannot change (the listener's schema refused the
// payload), it goes to the dead letters (Bus.DeadLetters).

var (
	bucketOutbox = []byte("outbox") // event id -> JSON outboxEntry
	bucketDead   = []byte("dead")   // event id -> JSON DeadLetter
)

// outboxEntry is one ack event not yet acknowledged by every listening service.
type outboxEntry struct {
	Event   string    `json:"event"`
	ID      string    `json:"id"`
	CorrID  string    `json:"corrid,omitempty"`
	Data    []byte    `json:"data"` // encoded with the event channel's codec
	Pending []string  `json:"pending"`
	Created time.Time `json:"created"`
}

// DeadLetter is an ack event that some listening services never acknowledged: Failed says
// which, and the last error of each.
type DeadLetter struct {
	Event   string            `json:"event"`
	ID      string            `json:"id"`
	CorrID  string            `json:"corrid,omitempty"`
	Payload json.RawMessage   `json:"-"`
	Data    []byte            `json:"data"` // the payload, encoded with the event channel's codec
	Failed  map[string]string `json:"failed"`
	Created time.Time         `json:"created"`
	Died    time.Time         `json:"died"`
}

type outbox struct {
	db     *bbolt.DB
	maxAge time.Duration
	every  time.Duration
}

// WithOutbox keeps ack events in an outbox file at path (bbolt) until every listening
// service acknowledged them, retrying in the background, across restarts of the emitter,
// until maxAge (default 24 h when 0) passes; then they go to the dead letters.
func WithOutbox(path string, maxAge time.Duration) Option {
	return optionFunc(func(o *options) { o.outboxPath, o.outboxAge = path, maxAge })
}

func openOutbox(path string, maxAge, every time.Duration) (*outbox, error) {
	if maxAge <= 0 {
		maxAge = 24 * time.Hour
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("events: outbox %s: %w", path, err)
	}
	db.MaxBatchDelay = time.Millisecond
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bucketOutbox, bucketDead} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("events: outbox %s: %w", path, err)
	}
	return &outbox{db: db, maxAge: maxAge, every: every}, nil
}

func (o *outbox) put(e *outboxEntry) error {
	doc, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return o.db.Batch(func(tx *bbolt.Tx) error { return tx.Bucket(bucketOutbox).Put([]byte(e.ID), doc) })
}

// settle records the outcome of a delivery round: the services that acknowledged leave
// the entry; a refusal retrying cannot change sends the entry to the dead letters, as
// does its age; an entry nobody is pending for is gone. dead says the entry went to the
// dead letters.
func (o *outbox) settle(e *outboxEntry, failed map[string]error, now time.Time) (dead bool, err error) {
	var retry []string
	final := map[string]string{}
	for _, svc := range e.Pending {
		err, bad := failed[svc]
		switch {
		case !bad:
		case retryableForOutbox(err):
			retry = append(retry, svc)
		default:
			final[svc] = err.Error()
		}
	}
	sort.Strings(retry)
	e.Pending = retry
	dead = len(final) > 0 || len(retry) > 0 && now.Sub(e.Created) >= o.maxAge
	return dead, o.db.Batch(func(tx *bbolt.Tx) error {
		out := tx.Bucket(bucketOutbox)
		if !dead && len(retry) > 0 {
			doc, err := json.Marshal(e)
			if err != nil {
				return err
			}
			return out.Put([]byte(e.ID), doc)
		}
		if err := out.Delete([]byte(e.ID)); err != nil {
			return err
		}
		if !dead {
			return nil
		}
		for _, svc := range retry {
			final[svc] = fmt.Sprintf("not acknowledged within %s: %v", o.maxAge, failed[svc])
		}
		doc, err := json.Marshal(DeadLetter{Event: e.Event, ID: e.ID, CorrID: e.CorrID, Data: e.Data, Failed: final, Created: e.Created, Died: now})
		if err != nil {
			return err
		}
		return tx.Bucket(bucketDead).Put([]byte(e.ID), doc)
	})
}

// retryableForOutbox reports whether a later attempt may succeed: the listener was
// unreachable, had no live instance, was busy or too slow.
func retryableForOutbox(err error) bool {
	switch jesus.CodeOf(err) {
	case jesus.CodeUnavailable, jesus.CodeDeadlineExceeded, jesus.CodeResourceExhausted, jesus.CodeCanceled, jesus.CodeUnknown:
		return true
	}
	return false
}

func (o *outbox) entries() ([]outboxEntry, error) {
	var out []outboxEntry
	err := o.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketOutbox).ForEach(func(k, v []byte) error {
			var e outboxEntry
			if json.Unmarshal(v, &e) == nil {
				out = append(out, e)
			}
			return nil
		})
	})
	return out, err
}

// DeadLetters returns the ack events of the outbox (WithOutbox) that some listening
// services never acknowledged, oldest first.
func (b *Bus) DeadLetters() ([]DeadLetter, error) {
	if b.outbox == nil {
		return nil, nil
	}
	var out []DeadLetter
	err := b.outbox.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketDead).ForEach(func(k, v []byte) error {
			var d DeadLetter
			if json.Unmarshal(v, &d) == nil {
				out = append(out, d)
			}
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out, err
}

// Outboxed is how many ack events wait in the outbox for some listening service.
func (b *Bus) Outboxed() int {
	if b.outbox == nil {
		return 0
	}
	n := 0
	_ = b.outbox.db.View(func(tx *bbolt.Tx) error { n = tx.Bucket(bucketOutbox).Stats().KeyN; return nil })
	return n
}

// redeliver runs until the bus closes: it retries what the outbox holds, each round
// after a wait that grows (with jitter) while nothing gets through.
func (b *Bus) redeliver() {
	defer close(b.outboxDone)
	bo := backoff.Backoff{Min: b.o.outboxEvery, Max: 30 * b.o.outboxEvery}
	for {
		t := time.NewTimer(bo.Next())
		select {
		case <-b.done:
			t.Stop()
			return
		case <-t.C:
		}
		if b.retryOutbox() {
			bo.Reset()
		}
	}
}

// retryOutbox makes one delivery round over the outbox and reports whether anything
// got through.
func (b *Bus) retryOutbox() (progress bool) {
	entries, err := b.outbox.entries()
	if err != nil {
		b.o.logger.Error("events: outbox unreadable", "err", err)
		return false
	}
	for i := range entries {
		e := &entries[i]
		ev := b.out[e.Event]
		if ev == nil || b.disc == nil {
			continue // not an event of this service (any more): left for whoever emits it
		}
		ctx, cancel := context.WithTimeout(b.closing, b.o.timeout)
		d := delivery{b: b, ev: ev, id: e.ID, data: e.Data, corrID: e.CorrID}
		failed := map[string]error{}
		for _, svc := range e.Pending {
			if err := d.to(ctx, svc, WireMethod(svc, e.Event)); err != nil {
				failed[svc] = err
				b.o.logger.Debug("events: outbox: delivery failed", "event", e.Event, "id", e.ID, "service", svc, "err", err)
			} else {
				progress = true
				b.st.redelivered.Add(1)
			}
		}
		cancel()
		b.outboxSettle(e, failed)
		select {
		case <-b.done:
			return progress
		default:
		}
	}
	return progress
}
