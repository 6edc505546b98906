package journal_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"go.etcd.io/bbolt"

	"github.com/jesus-go/jesus/events"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/jesus/journal"
)

// Example gives a listening service a journal: an event it acks runs even if the process
// dies before the handler finished (it is replayed at the next start), and an emitter's
// retry of an event already accepted is acked again without running twice.
func Example() {
	dir, _ := os.MkdirTemp("", "journal")
	defer os.RemoveAll(dir)
	j, err := journal.Open(filepath.Join(dir, "billing.journal"), journal.WithKey(events.JournalKey))
	if err != nil {
		panic(err)
	}
	defer j.Close()
	srv := jesus.NewServer("billing", jesus.WithJournal(j))
	defer srv.Close()
	jesus.HandleOneWay(srv, "charge", func(ctx context.Context, req map[string]any) error { return nil })
	if _, err := srv.Listen(context.Background(), "tcp+msgpack://127.0.0.1:0"); err != nil {
		panic(err)
	}
	fmt.Println(j.Len(), "pending")
	// Output: 0 pending
}

// ExampleJournal_Commit records each charge exactly once: the handler writes it into the
// journal's own file in the transaction that also ends the request. A process killed
// before that transaction runs the request again at its next start, one killed after it
// does not, and an emitter's retry of an event already accepted is acked without running.
func ExampleJournal_Commit() {
	dir, _ := os.MkdirTemp("", "journal")
	defer os.RemoveAll(dir)
	j, err := journal.Open(filepath.Join(dir, "billing.journal"), journal.WithKey(events.JournalKey))
	if err != nil {
		panic(err)
	}
	defer j.Close()
	srv := jesus.NewServer("billing", jesus.WithJournal(j))
	defer srv.Close()
	type charge struct {
		Order string `json:"order"`
		Cents int    `json:"cents"`
	}
	charged := make(chan error, 1)
	jesus.HandleOneWay(srv, "charge", func(ctx context.Context, c charge) error {
		err := j.Commit(ctx, func(tx *bbolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists([]byte("charges"))
			if err != nil {
				return err
			}
			return b.Put([]byte(c.Order), []byte(strconv.Itoa(c.Cents)))
		})
		charged <- err
		return err
	})
	sp, err := srv.Listen(context.Background(), "tcp+json://127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	shop := jesus.NewClient("shop", jesus.WithTarget(sp.String()))
	defer shop.Close()
	if err := jesus.Ack(context.Background(), shop, "billing.charge", charge{Order: "o-17", Cents: 1250}); err != nil {
		panic(err)
	}
	if err := <-charged; err != nil {
		panic(err)
	}
	_ = j.View(func(tx *bbolt.Tx) error {
		fmt.Println("o-17:", string(tx.Bucket([]byte("charges")).Get([]byte("o-17"))), "cents;", j.Len(), "pending")
		return nil
	})
	// Output: o-17: 1250 cents; 0 pending
}
