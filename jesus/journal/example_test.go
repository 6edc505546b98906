package journal_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

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
