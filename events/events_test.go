package events_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jesus-go/jesus/events"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/registry"
)

// handlerOf counts each run of service svc's order.created handler in s.
func handlerOf(s *seen, svc string) func(*events.Bus) {
	return func(b *events.Bus) {
		err := events.On(b, "order.created", func(ctx context.Context, ev events.Event[OrderCreated]) error {
			if ev.Payload.OrderID == "" || ev.From != "orders" || jesus.CorrID(ctx) != ev.CorrID {
				return fmt.Errorf("bad event %+v (ctx corrid %q)", ev, jesus.CorrID(ctx))
			}
			s.add(svc, ev.ID, ev.CorrID)
			return nil
		})
		if err != nil {
			panic(err)
		}
	}
}

func waitInstances(t *testing.T, cache *registry.Cache, want map[string]int) {
	t.Helper()
	waitFor(t, fmt.Sprint("instances ", want), func() bool {
		for svc, n := range want {
			if len(cache.Instances(svc)) != n {
				return false
			}
		}
		return true
	})
}

// TestDomainEventReachesEveryListenerOnce: order.created over http+json+gzip with ack
// reaches billing and audit, two instances each; each service's handler runs exactly once
// per event, the load is shared, and the corrid travels on, also into events that a
// handler emits (billing's log over udp, which audit listens to).
func TestDomainEventReachesEveryListenerOnce(t *testing.T) {
	leakCheck(t)
	set := loadSchemas(t)
	reg, cache := startRegistry(t)
	var s seen
	var logs seen
	perInstance := startChargingBillings(t, set, reg, cache, &s)
	tails := startTailedAudits(t, set, reg, cache, &s, &logs)
	waitInstances(t, cache, map[string]int{"billing": 2, "audit": 2})

	orders := emitter(t, set, cache, "orders")
	const n = 40
	corrids := emitOrders(t, orders, n)
	// Acked means accepted: the handlers run just after the ack.
	waitFor(t, "handlers", func() bool { return s.count("billing") == n && s.count("audit") == n })
	for _, svc := range []string{"billing", "audit"} {
		if d := s.twice(svc); len(d) > 0 {
			t.Errorf("%s handled %d events more than once: %v", svc, len(d), d)
		}
	}
	for id, corr := range corrids {
		if got := s.corrid[id]; got != corr {
			t.Errorf("event %s: handler saw corrid %q, want %q", id, got, corr)
		}
	}
	if a, b := perInstance["billing-1"].Load(), perInstance["billing-2"].Load(); a < n/4 || b < n/4 {
		t.Errorf("load not shared between billing instances: %d and %d", a, b)
	}
	st := orders.Stats()
	if st.Emitted != n || st.Acked != 2*n || st.Failed != 0 {
		t.Errorf("emitter stats %+v", st)
	}
	// Logs emitted by billing's handler carry the corrid of the order event.
	waitFor(t, "a log from billing's handler", func() bool { return logs.count("audit") > 0 })
	logs.mu.Lock()
	for id, corr := range logs.corrid {
		if !strings.HasPrefix(corr, "corr-") {
			t.Errorf("log %s carries corrid %q, not the order event's", id, corr)
		}
	}
	logs.mu.Unlock()
	checkTailedOrder(t, tails)
	t.Logf("billing instances handled %d and %d; emitter %+v", perInstance["billing-1"].Load(), perInstance["billing-2"].Load(), st)
}

// startChargingBillings starts two billing instances whose order.created handler notes
// the event in s and emits a log (passing the corrid on); it returns how many events each
// instance handled.
func startChargingBillings(t *testing.T, set *schema.Set, reg *registry.Registry, cache *registry.Cache, s *seen) map[string]*atomic.Int64 {
	perInstance := map[string]*atomic.Int64{}
	for _, name := range []string{"billing-1", "billing-2"} {
		n := new(atomic.Int64)
		perInstance[name] = n
		startNode(t, set, reg, cache, "billing", true, func(b *events.Bus) {
			must(t, events.On(b, "order.created", func(ctx context.Context, ev events.Event[OrderCreated]) error {
				n.Add(1)
				s.add("billing", ev.ID, ev.CorrID)
				// A handler that emits passes the corrid on.
				_, err := events.Emit(ctx, b, "log", LogRecord{Level: "info", Msg: "charged " + ev.Payload.OrderID, At: ev.Payload.At})
				return err
			}))
		})
	}
	return perInstance
}

// startTailedAudits starts two audit instances, noting order events in s and logs in
// logs, and returns their tails. Which one gets an event is up to the round robin, which
// the two emitters (orders, and billing's handlers) share through one cache.
func startTailedAudits(t *testing.T, set *schema.Set, reg *registry.Registry, cache *registry.Cache, s, logs *seen) []<-chan events.Record {
	var tails []<-chan events.Record
	for range 2 {
		nd := startNode(t, set, reg, cache, "audit", true, func(b *events.Bus) {
			handlerOf(s, "audit")(b)
			must(t, events.On(b, "log", func(ctx context.Context, ev events.Event[LogRecord]) error {
				logs.add("audit", ev.ID, ev.CorrID)
				return nil
			}))
		})
		tail, stopTail := nd.bus.Tail()
		t.Cleanup(stopTail)
		tails = append(tails, tail)
	}
	return tails
}

// emitOrders emits n order.created events, each with a corrid of its own, each acked by
// audit and billing; it returns the corrid of each event id.
func emitOrders(t *testing.T, orders *events.Bus, n int) map[string]string {
	ctx := ctxT(t)
	corrids := map[string]string{}
	for i := range n {
		corr := fmt.Sprintf("corr-%d", i)
		res, err := events.Emit(jesus.WithCorrID(ctx, corr), orders, "order.created", order(i))
		if err != nil {
			t.Fatalf("emit %d: %v", i, err)
		}
		if !slices.Equal(res.Acked, []string{"audit", "billing"}) || len(res.Failed) != 0 || res.ID == "" {
			t.Fatalf("emit %d: %+v", i, res)
		}
		corrids[res.ID] = corr
	}
	return corrids
}

// checkTailedOrder: the tails show what the audit instances accepted (logs and orders).
// Every record was tailed before its handler ran, and every handler has run: what the
// tails hold now is all there is, and an order event from orders is among it.
func checkTailedOrder(t *testing.T, tails []<-chan events.Record) {
	var r events.Record
	for _, tail := range tails {
		for len(tail) > 0 && r.Event != "order.created" {
			r = <-tail
		}
	}
	var p OrderCreated
	if r.Event != "order.created" || r.From != "orders" || !strings.HasPrefix(r.CorrID, "corr-") || json.Unmarshal(r.Payload, &p) != nil || p.OrderID == "" {
		t.Errorf("tail record %+v", r)
	}
}

// TestKilledListenerStillDeliveredOnce: one billing instance is closed hard while events
// keep coming; its registration lingers until its lease expires. Every event still reaches
// billing exactly once, through a retry on the other instance.
func TestKilledListenerStillDeliveredOnce(t *testing.T) {
	leakCheck(t)
	var s seen
	set, reg, cache, victim := twoBillings(t, &s)
	for range 2 {
		startNode(t, set, reg, cache, "audit", true, handlerOf(&s, "audit"))
	}
	waitInstances(t, cache, map[string]int{"billing": 2, "audit": 2})
	orders := emitter(t, set, cache, "orders")
	ctx := ctxT(t)

	const n, killAt = 60, 20
	ids := make([]string, 0, n)
	for i := range n {
		if i == killAt {
			go victim.srv.Close() // hard, mid-run: emits go on meanwhile
		}
		res, err := events.Emit(ctx, orders, "order.created", order(i))
		if err != nil {
			t.Fatalf("emit %d: %v", i, err)
		}
		ids = append(ids, res.ID)
	}
	waitFor(t, "handlers", func() bool { return s.count("billing") == n && s.count("audit") == n })
	for _, svc := range []string{"billing", "audit"} {
		for _, id := range ids {
			if r := s.runs(svc, id); r != 1 {
				t.Errorf("%s ran event %s %d times", svc, id, r)
			}
		}
	}
	if len(cache.Instances("billing")) != 2 {
		t.Fatal("the killed instance left the registry early; the test proves nothing")
	}
	st := orders.Stats()
	if st.Retries == 0 || st.Failed != 0 || st.Acked != 2*n {
		t.Errorf("want retries to the live instance and every event acked: %+v", st)
	}
	t.Logf("emitter after a listener was killed: %+v", st)
}

// TestAckedEventRunsThroughHardClose: the ack goes out before the handler runs; a hard
// Close of the listener's server while the handler runs cancels the handler's context but
// does not take the event from it. (A handler that gave up on that context would have
// lost the event; see the package documentation on journals.)
func TestAckedEventRunsThroughHardClose(t *testing.T) {
	leakCheck(t)
	set := loadSchemas(t)
	reg, cache := startRegistry(t)
	var s seen
	running := make(chan struct{})
	billing := startNode(t, set, reg, cache, "billing", false, func(b *events.Bus) {
		must(t, events.On(b, "order.created", func(ctx context.Context, ev events.Event[OrderCreated]) error {
			close(running)
			<-ctx.Done() // the server is closing hard
			s.add("billing", ev.ID, ev.CorrID)
			return nil
		}))
	})
	waitInstances(t, cache, map[string]int{"billing": 1})
	orders := emitter(t, set, cache, "orders")
	res, err := events.Emit(ctxT(t), orders, "order.created", order(1))
	if err != nil || !slices.Equal(res.Acked, []string{"billing"}) {
		t.Fatalf("emit: %+v, %v", res, err)
	}
	<-running
	billing.srv.Close()
	waitFor(t, "the handler to end", func() bool { return s.count("billing") == 1 })
	if st := billing.bus.Stats(); st.Received != 1 || st.HandlerErrors != 0 {
		t.Errorf("listener stats %+v", st)
	}
}

// fussy listens to order.created but accepts only small totals, which the emitter's own
// schema does not promise.
const fussy = `{
  "service": "fussy", "version": "1.0.0",
  "channels": {"domain": "http+json+gzip"},
  "listens": {
    "order.created": {"payload": {"type": "object", "required": ["orderId", "total"],
      "properties": {"total": {"type": "object", "properties": {"amount": {"type": "number", "maximum": 100}}}}}}
  }
}`

// TestListenerRejectsPayload: a listener whose schema refuses the payload reports its
// service and the failing pointer to the emitter; the other listener still gets the event.
// A payload that fails the emitter's own schema is refused before anything is sent.
func TestListenerRejectsPayload(t *testing.T) {
	leakCheck(t)
	set := loadSchemas(t, "fussy.json", fussy)
	reg, cache := startRegistry(t)
	var s seen
	startNode(t, set, reg, cache, "billing", true, handlerOf(&s, "billing"))
	f := startNode(t, set, reg, cache, "fussy", true, func(b *events.Bus) {
		must(t, events.On(b, "order.created", func(ctx context.Context, ev events.Event[map[string]any]) error {
			s.add("fussy", ev.ID, ev.CorrID)
			return nil
		}))
	})
	waitInstances(t, cache, map[string]int{"billing": 1, "fussy": 1})
	orders := emitter(t, set, cache, "orders")
	ctx := ctxT(t)

	big := order(1)
	big.Total.Amount = 500
	res, err := events.Emit(ctx, orders, "order.created", big)
	var de *events.DeliveryError
	if !errors.As(err, &de) || !errors.Is(err, jesus.ErrInvalidArgument) {
		t.Fatalf("want a DeliveryError with invalid_argument, got %v", err)
	}
	if !slices.Equal(res.Acked, []string{"billing"}) || len(res.Failed) != 1 {
		t.Fatalf("result %+v", res)
	}
	fe := jesus.AsError(res.Failed["fussy"])
	if fe.Code != jesus.CodeInvalidArgument || fe.Service != "fussy@1.0.0" || !fe.Remote || len(fe.Failures) == 0 || fe.Failures[0].Pointer != "/total/amount" {
		t.Fatalf("fussy's refusal: %#v", fe)
	}
	t.Logf("listener refusal: %v", err)
	if st := f.bus.Stats(); st.Invalid != 1 || st.Received != 0 {
		t.Errorf("fussy stats %+v", st)
	}
	if st := orders.Stats(); st.Failed != 1 || st.Retries != 0 {
		t.Errorf("an invalid payload is not retried: %+v", st)
	}

	// The emitter's own schema: refused before sending, naming orders and the pointer.
	bad := order(2)
	bad.OrderID = "not an id"
	_, err = events.Emit(ctx, orders, "order.created", bad)
	e := jesus.AsError(err)
	if e.Code != jesus.CodeInvalidArgument || e.Service != "orders@1.2.0" || len(e.Failures) == 0 || e.Failures[0].Pointer != "/orderId" {
		t.Fatalf("emitter-side refusal: %#v", e)
	}
	// Events the descriptor does not declare are refused on both sides.
	if _, err := events.Emit(ctx, orders, "order.deleted", big); jesus.CodeOf(err) != jesus.CodeInvalidArgument {
		t.Fatalf("undeclared event: %v", err)
	}
	if err := events.On(f.bus, "log", func(context.Context, events.Event[LogRecord]) error { return nil }); err == nil {
		t.Fatal("On accepted an event fussy does not listen to")
	}
	waitFor(t, "billing's handler", func() bool { return s.count("billing") == 1 })
	if s.count("fussy") != 0 {
		t.Fatal("fussy's handler ran on a payload its schema refuses")
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
