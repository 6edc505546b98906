package events_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/events"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/registry"
)

// TestOutboxSurvivesTheEmittersRestart: an ack event billing could not take (no live
// instance) stays in the emitter's outbox across a restart of the emitter, and reaches
// billing, once, when billing comes up.
func TestOutboxSurvivesTheEmittersRestart(t *testing.T) {
	leakCheck(t)
	set, reg, cache := billingDown(t)
	ctx := ctxT(t)
	path := filepath.Join(t.TempDir(), "orders.outbox")

	first, err := events.New(set.Service("orders"), set, newDisc(t, cache), nil, nil, events.WithOutbox(path, time.Hour))
	must(t, err)
	res, err := events.Emit(ctx, first, "order.created", order(1))
	if jesus.CodeOf(res.Failed["billing"]) != jesus.CodeUnavailable || err == nil {
		t.Fatalf("billing is down: %+v %v", res, err)
	}
	if first.Outboxed() != 1 {
		t.Fatalf("%d in the outbox", first.Outboxed())
	}
	must(t, first.Close()) // the emitter stops

	second, err := events.New(set.Service("orders"), set, newDisc(t, cache), nil, nil,
		events.WithOutbox(path, time.Hour), events.WithOutboxRetry(20*time.Millisecond), events.WithLogger(testLogger(t)))
	must(t, err)
	defer second.Close()
	var got atomic.Int64
	var id atomic.Value
	startNode(t, set, reg, cache, "billing", true, func(b *events.Bus) {
		must(t, events.On(b, "order.created", func(ctx context.Context, ev events.Event[OrderCreated]) error {
			got.Add(1)
			id.Store(ev.ID)
			return nil
		}))
	})
	// A dead letter ends the wait: the event will not come any more.
	var dl []events.DeadLetter
	channeltest.EventuallyState(t, 20*time.Second, "the outbox to deliver", func() (bool, string) {
		dl, _ = second.DeadLetters()
		n, left := got.Load(), second.Outboxed()
		return n == 1 && left == 0 || len(dl) > 0, fmt.Sprintf("billing handled %d, %d in the outbox, %d dead letter(s), %d billing instance(s) in the cache, emitter %+v",
			n, left, len(dl), len(cache.Instances("billing")), second.Stats())
	})
	if len(dl) != 0 {
		t.Fatalf("the event went to the dead letters instead of to billing: %s", dl[0].Failed["billing"])
	}
	if id.Load() != res.ID || second.Stats().Redelivered != 1 {
		t.Fatalf("delivered %v (want %s), stats %+v", id.Load(), res.ID, second.Stats())
	}
	if dl, err := second.DeadLetters(); err != nil || len(dl) != 0 {
		t.Fatalf("dead letters %v %v", dl, err)
	}
}

// TestOutboxDeadLetters: an event older than the outbox's age, or refused by a listener
// for good, goes to the dead letters with the reason of each service.
func TestOutboxDeadLetters(t *testing.T) {
	leakCheck(t)
	set, _, cache := billingDown(t)
	ctx := ctxT(t)
	b, err := events.New(set.Service("orders"), set, newDisc(t, cache), nil, nil,
		events.WithOutbox(filepath.Join(t.TempDir(), "o"), time.Millisecond), events.WithOutboxRetry(10*time.Millisecond))
	must(t, err)
	defer b.Close()
	res, _ := events.Emit(ctx, b, "order.created", order(2))
	var dl []events.DeadLetter
	waitFor(t, "a dead letter", func() bool { dl, _ = b.DeadLetters(); return len(dl) == 1 })
	if dl[0].ID != res.ID || dl[0].Event != "order.created" || dl[0].Failed["billing"] == "" || b.Outboxed() != 0 {
		t.Fatalf("dead letter %+v, %d outboxed", dl[0], b.Outboxed())
	}
	t.Logf("dead letter: %s", dl[0].Failed["billing"])
}

// billingDown starts a registry where billing's descriptor is published and no instance
// of it runs.
func billingDown(t *testing.T) (*schema.Set, *registry.Registry, *registry.Cache) {
	t.Helper()
	set := loadSchemas(t)
	reg, cache := startRegistry(t)
	publishOnly(t, set, reg, cache, "billing")
	return set, reg, cache
}
