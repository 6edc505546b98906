package journal

import (
	"context"
	"encoding/binary"
	"errors"
	"path/filepath"
	"testing"

	"go.etcd.io/bbolt"

	"github.com/jesus-go/jesus/jesus"
)

var bucketEffects = []byte("effects")

// effect counts one run of id in the effects bucket.
func effect(id string) func(tx *bbolt.Tx) error {
	return func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketEffects)
		if err != nil {
			return err
		}
		var n uint64
		if v := b.Get([]byte(id)); v != nil {
			n = binary.BigEndian.Uint64(v)
		}
		return b.Put([]byte(id), u64(n+1))
	}
}

func effects(t *testing.T, j *Journal) map[string]uint64 {
	t.Helper()
	m := map[string]uint64{}
	err := j.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketEffects)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error { m[string(k)] = binary.BigEndian.Uint64(v); return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func keyExtra(m jesus.Meta) string { return m.Extra["k"] }

func appendKeyed(t *testing.T, j *Journal, id string) uint64 {
	t.Helper()
	seq, err := j.Append(&jesus.JournalEntry{Method: "sink.put", Codec: "json", Data: []byte(`"` + id + `"`),
		Meta: jesus.Meta{Extra: map[string]string{"k": id}}})
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

// TestCommitEndsTheRequest: a process that committed a request's effect and died before
// the server's removal leaves nothing to replay, and its key is still known after the
// restart. What a process that died before the commit left is pending, with no effect.
func TestCommitEndsTheRequest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	j, err := Open(path, WithKey(keyExtra))
	if err != nil {
		t.Fatal(err)
	}
	a, b := appendKeyed(t, j, "a"), appendKeyed(t, j, "b")
	if err := j.commit(a, effect("a")); err != nil {
		t.Fatal(err)
	}
	// A second commit of the same request is refused without running fn.
	ran := false
	if err := j.commit(a, func(*bbolt.Tx) error { ran = true; return nil }); !errors.Is(err, ErrNotPending) || ran {
		t.Fatalf("second commit: %v, fn ran %v", err, ran)
	}
	// A commit whose fn fails commits nothing: b stays pending, without effect.
	boom := errors.New("boom")
	if err := j.commit(b, func(tx *bbolt.Tx) error {
		if err := effect("b")(tx); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("failing commit: %v", err)
	}
	if err := j.Close(); err != nil { // the process dies: no Remove of a or b
		t.Fatal(err)
	}

	j, err = Open(path, WithKey(keyExtra))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	pending, err := j.Pending()
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 || pending[0].Seq != b {
		t.Fatalf("pending after restart: %+v, want only b (%d)", pending, b)
	}
	if got := effects(t, j); len(got) != 1 || got["a"] != 1 {
		t.Fatalf("effects after restart: %v, want a once", got)
	}
	// The sender retrying a (its ack lost) is a duplicate, across the restart.
	if _, err := j.Append(&jesus.JournalEntry{Method: "sink.put", Meta: jesus.Meta{Extra: map[string]string{"k": "a"}}}); !errors.Is(err, jesus.ErrDuplicate) {
		t.Fatalf("retry of a committed request: %v, want ErrDuplicate", err)
	}
	// The server's removal after a committed handler is a no-op: no write.
	writes := writesOf(j)
	if err := j.Remove(a); err != nil {
		t.Fatal(err)
	}
	if w := writesOf(j); w != writes {
		t.Fatalf("Remove of a committed request wrote %d pages", w-writes)
	}
	// Without a journaled request in ctx, Commit is a transaction of its own.
	if err := j.Commit(context.Background(), effect("c")); err != nil {
		t.Fatal(err)
	}
	if got := effects(t, j); len(got) != 2 || got["a"] != 1 || got["c"] != 1 || j.Len() != 1 {
		t.Fatalf("effects %v, %d pending", got, j.Len())
	}
}

// writesOf is how many page writes the journal's file has had.
func writesOf(j *Journal) int64 {
	st := j.db.Stats()
	return st.TxStats.GetWrite()
}
