package journal_test

import (
	"context"
	"encoding/binary"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/jesus/journal"
)

func keyOf(m jesus.Meta) string { return m.Extra["k"] }

// ack sends id in ack mode to spec with its key in the meta.
func ack(ctx context.Context, c *jesus.Client, spec channel.Spec, id string) error {
	data := []byte(`"` + id + `"`)
	return c.Do(ctx, &jesus.Request{Method: "sink.put", Mode: jesus.ModeAck, Codec: "json", Data: data,
		Extra: map[string]string{"k": id}, Route: jesus.NewRoute(spec, "")})
}

func listen(t *testing.T, s *jesus.Server) channel.Spec {
	t.Helper()
	sp, err := s.Listen(context.Background(), "tcp+json://127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// openJournal opens the journal at path, keyed by keyOf.
func openJournal(t *testing.T, path string) *journal.Journal {
	t.Helper()
	j, err := journal.Open(path, journal.WithKey(keyOf))
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// sender is a client to send requests with and a context bounding the test, both ended
// by the test's cleanup.
func sender(t *testing.T) (*jesus.Client, context.Context) {
	c := jesus.NewClient("src")
	t.Cleanup(func() { c.Close() })
	return c, channeltest.Context(t, 20*time.Second)
}

// stopHard closes s with its handlers still running, checks that j then holds want
// requests (after what happened: when), and closes j.
func stopHard(t *testing.T, s *jesus.Server, j *journal.Journal, want int, when string) {
	t.Helper()
	s.Close()
	if n := j.Len(); n != want {
		t.Fatalf("%d pending after %s, want %d", n, when, want)
	}
	j.Close()
}

// TestHardStopThenReplay: requests acked by a server that stopped hard in the middle of
// their handlers run again, once, when a server on the same journal starts.
func TestHardStopThenReplay(t *testing.T) {
	channeltest.CheckLeaks(t)
	path := filepath.Join(t.TempDir(), "j.db")
	j := openJournal(t, path)
	started := make(chan string, 8)
	s1 := jesus.NewServer("sink", jesus.WithJournal(j))
	jesus.HandleOneWay(s1, "put", func(ctx context.Context, id string) error {
		started <- id
		<-ctx.Done() // cut by the hard stop
		return ctx.Err()
	})
	sp := listen(t, s1)
	c, ctx := sender(t)
	for _, id := range []string{"a", "b", "c"} {
		if err := ack(ctx, c, sp, id); err != nil {
			t.Fatal(err)
		}
		<-started
	}
	stopHard(t, s1, j, 3, "the hard stop")

	j2 := openJournal(t, path)
	defer j2.Close()
	var mu sync.Mutex
	ran := map[string]int{}
	s2 := jesus.NewServer("sink", jesus.WithJournal(j2))
	defer s2.Close()
	jesus.HandleOneWay(s2, "put", func(ctx context.Context, id string) error {
		mu.Lock()
		ran[id]++
		mu.Unlock()
		return nil
	})
	sp2 := listen(t, s2)
	channeltest.Eventually(t, 10*time.Second, "the replay", func() bool { return s2.Stats().Replayed == 3 && j2.Len() == 0 })
	// A sender retrying "b" (its ack lost) is acked again, and b does not run twice.
	if err := ack(ctx, c, sp2, "b"); err != nil {
		t.Fatal(err)
	}
	if err := ack(ctx, c, sp2, "d"); err != nil {
		t.Fatal(err)
	}
	channeltest.Eventually(t, 10*time.Second, "d", func() bool { mu.Lock(); defer mu.Unlock(); return ran["d"] == 1 })
	mu.Lock()
	defer mu.Unlock()
	if ran["a"] != 1 || ran["b"] != 1 || ran["c"] != 1 || s2.Stats().Duplicates != 1 {
		t.Fatalf("ran %v, stats %+v", ran, s2.Stats())
	}
}

// TestDuplicateKeyAckedWithoutRunning: within the window, a request whose key was
// accepted before is acked and not run.
func TestDuplicateKeyAckedWithoutRunning(t *testing.T) {
	channeltest.CheckLeaks(t)
	j := openJournal(t, filepath.Join(t.TempDir(), "j.db"))
	defer j.Close()
	var runs atomic.Int64
	s := jesus.NewServer("sink", jesus.WithJournal(j))
	defer s.Close()
	jesus.HandleOneWay(s, "put", func(ctx context.Context, id string) error { runs.Add(1); return nil })
	sp := listen(t, s)
	c, ctx := sender(t)
	for range 3 {
		if err := ack(ctx, c, sp, "same"); err != nil {
			t.Fatal(err)
		}
	}
	channeltest.Eventually(t, 10*time.Second, "the run", func() bool { return runs.Load() == 1 && j.Len() == 0 })
	if st := s.Stats(); st.Duplicates != 2 || runs.Load() != 1 {
		t.Fatalf("runs %d, stats %+v", runs.Load(), st)
	}
}

var bucketRuns = []byte("runs")

// countRun counts one run of id in the runs bucket, inside a Commit.
func countRun(id string) func(tx *bbolt.Tx) error {
	return func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketRuns)
		if err != nil {
			return err
		}
		n := uint64(0)
		if v := b.Get([]byte(id)); v != nil {
			n = binary.BigEndian.Uint64(v)
		}
		return b.Put([]byte(id), binary.BigEndian.AppendUint64(nil, n+1))
	}
}

// runs reads the runs bucket: how many times each id committed.
func runs(j *journal.Journal) (map[string]int, error) {
	m := map[string]int{}
	err := j.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketRuns)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error { m[string(k)] = int(binary.BigEndian.Uint64(v)); return nil })
	})
	return m, err
}

// TestCommitThenHardStop: a handler commits its effect and the server stops hard before
// its own removal of the request, which is what a kill between the two leaves, killing
// nothing. The next server on the journal replays nothing, the sender's retry is acked
// without running, and the effect is there once.
func TestCommitThenHardStop(t *testing.T) {
	channeltest.CheckLeaks(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "j.db")
	j := openJournal(t, path)
	other, err := journal.Open(filepath.Join(dir, "other.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	committed := make(chan error, 1)
	s1 := jesus.NewServer("sink", jesus.WithJournal(j))
	jesus.HandleOneWay(s1, "put", func(ctx context.Context, id string) error {
		if _, _, ok := jesus.JournalFromContext(ctx); !ok {
			committed <- errors.New("the handler's context names no journaled request")
			return nil
		}
		if err := other.Commit(ctx, countRun(id)); err == nil {
			committed <- errors.New("another journal committed the request")
			return nil
		}
		committed <- j.Commit(ctx, countRun(id))
		<-ctx.Done() // the server's removal never comes: it stops hard first
		return ctx.Err()
	})
	sp := listen(t, s1)
	c, ctx := sender(t)
	if err := ack(ctx, c, sp, "a"); err != nil {
		t.Fatal(err)
	}
	if err := <-committed; err != nil {
		t.Fatal(err)
	}
	stopHard(t, s1, j, 0, "the commit")

	j2 := openJournal(t, path)
	defer j2.Close()
	if left, err := j2.Pending(); err != nil || len(left) != 0 {
		t.Fatalf("pending at restart: %v, %v; want none", left, err)
	}
	var ran atomic.Int64
	s2 := jesus.NewServer("sink", jesus.WithJournal(j2))
	defer s2.Close()
	jesus.HandleOneWay(s2, "put", func(ctx context.Context, id string) error {
		ran.Add(1)
		return j2.Commit(ctx, countRun(id))
	})
	sp2 := listen(t, s2)
	for _, id := range []string{"a", "b"} { // a: the sender's retry, its ack lost
		if err := ack(ctx, c, sp2, id); err != nil {
			t.Fatal(err)
		}
	}
	var got map[string]int
	channeltest.Eventually(t, 10*time.Second, "b", func() bool {
		got, err = runs(j2)
		return err == nil && got["b"] == 1 && j2.Len() == 0
	})
	if st := s2.Stats(); got["a"] != 1 || len(got) != 2 || ran.Load() != 1 || st.Replayed != 0 || st.Duplicates != 1 {
		t.Fatalf("runs %v, handler ran %d times, stats %+v", got, ran.Load(), st)
	}
}
