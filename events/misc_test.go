package events_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jesus-go/jesus/events"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/jesus/discovery"
)

// TestNobodyListensOrNobodyIsUp: an event nobody listens to is not an error; a listening
// service with no live instance fails at once, unavailable, without retries (nothing can
// change before an instance registers); a listening service whose instances offer no
// endpoint on the event's transport fails at once too.
func TestNobodyListensOrNobodyIsUp(t *testing.T) {
	leakCheck(t)
	set := loadSchemas(t, "fussy.json", fussy)
	reg, cache := startRegistry(t)
	orders := emitter(t, set, cache, "orders")
	ctx := ctxT(t)
	res, err := events.Emit(ctx, orders, "order.created", order(1))
	if err != nil || len(res.Acked)+len(res.Failed)+len(res.Sent) != 0 || res.ID == "" {
		t.Fatalf("nobody listens: %+v, %v", res, err)
	}

	// billing's descriptor is published, no instance runs.
	publishOnly(t, set, reg, cache, "billing")
	start := time.Now()
	res, err = events.Emit(ctx, orders, "order.created", order(2))
	if jesus.CodeOf(res.Failed["billing"]) != jesus.CodeUnavailable || err == nil || !strings.Contains(err.Error(), "no live instance of billing") {
		t.Fatalf("no instance: %+v, %v", res, err)
	}
	if st := orders.Stats(); st.Retries != 0 || st.Failed != 1 || time.Since(start) > 5*time.Second {
		t.Fatalf("want an immediate failure without retries: %+v after %s", st, time.Since(start))
	}

	// fussy runs, but registers no http endpoint.
	d := set.Service("fussy")
	register(t, reg, d, map[string]string{"domain": "udp+msgpack://127.0.0.1:9"})
	waitFor(t, "fussy", func() bool { return len(cache.Instances("fussy")) == 1 })
	res, _ = events.Emit(ctx, orders, "order.created", order(3))
	if jesus.CodeOf(res.Failed["fussy"]) != jesus.CodeIncompatible || jesus.CodeOf(res.Failed["billing"]) != jesus.CodeUnavailable {
		t.Fatalf("no endpoint on the transport: %+v", res)
	}
	t.Logf("fussy: %v", res.Failed["fussy"])
}

// TestListenerValidatesBeforeAckOnAPlainServer: a bus on a server created without any
// validation still checks every payload against the listen schema before the ack, so the
// emitter hears of an invalid event and the handler never sees it.
func TestListenerValidatesBeforeAckOnAPlainServer(t *testing.T) {
	leakCheck(t)
	set := loadSchemas(t, "fussy.json", fussy)
	reg, cache := startRegistry(t)
	d := set.Service("fussy")
	srv := jesus.NewServer("fussy")
	bus, err := events.New(d, set, nil, nil, srv)
	must(t, err)
	defer bus.Close()
	var s seen
	must(t, events.On(bus, "order.created", func(ctx context.Context, ev events.Event[OrderCreated]) error {
		s.add("fussy", ev.ID, ev.CorrID)
		return nil
	}))
	ctx := ctxT(t)
	_, err = srv.ListenChannel(ctx, "domain", "http+json+gzip://127.0.0.1:0")
	must(t, err)
	defer srv.Close()
	_, err = discovery.Register(ctx, srv, reg, d)
	must(t, err)
	waitFor(t, "fussy", func() bool { return len(cache.Instances("fussy")) == 1 })
	orders := emitter(t, set, cache, "orders")
	big := order(1)
	big.Total.Amount = 500
	res, err := events.Emit(ctx, orders, "order.created", big)
	if jesus.CodeOf(res.Failed["fussy"]) != jesus.CodeInvalidArgument || !strings.Contains(err.Error(), "fussy") {
		t.Fatalf("invalid event acknowledged: %+v %v", res, err)
	}
	if _, err := events.Emit(ctx, orders, "order.created", order(2)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the valid event", func() bool { return s.count("fussy") == 1 })
	if st := bus.Stats(); st.Invalid != 1 || st.Received != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestTailStopAndClose(t *testing.T) {
	leakCheck(t)
	set := loadSchemas(t)
	b, err := events.New(set.Service("audit"), set, nil, nil, jesus.NewServer("audit"))
	must(t, err)
	a, stopA := b.Tail()
	c, _ := b.Tail()
	stopA()
	stopA()
	if _, open := <-a; open {
		t.Fatal("stopped tail still open")
	}
	must(t, b.Close())
	must(t, b.Close())
	if _, open := <-c; open {
		t.Fatal("Close left a tail open")
	}
	d, stopD := b.Tail()
	stopD()
	if _, open := <-d; open {
		t.Fatal("a tail after Close is open")
	}
	if _, err := events.Emit(ctxT(t), b, "log", logRecord(1)); err == nil {
		t.Fatal("audit emits nothing; want a refusal")
	}
	if err := events.On(b, "order.created", func(context.Context, events.Event[OrderCreated]) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := events.On(b, "order.created", func(context.Context, events.Event[OrderCreated]) error { return nil }); err == nil {
		t.Fatal("a second handler of one event was accepted")
	}
}

// TestTailWithUntypedHandler: a bus that only watches registers On[any] and reads Tail;
// payloads of any codec (here msgpack over udp) come out as JSON.
func TestTailWithUntypedHandler(t *testing.T) {
	leakCheck(t)
	set := loadSchemas(t)
	reg, cache := startRegistry(t)
	nd := startNode(t, set, reg, cache, "audit", true, func(b *events.Bus) {
		must(t, events.On(b, "log", func(context.Context, events.Event[any]) error { return nil }))
		must(t, events.On(b, "order.created", func(context.Context, events.Event[any]) error { return nil }))
	})
	tail, stop := nd.bus.Tail()
	defer stop()
	waitFor(t, "audit", func() bool { return len(cache.Instances("audit")) == 1 })
	orders := emitter(t, set, cache, "orders")
	ctx := ctxT(t)
	if _, err := events.Emit(jesus.WithCorrID(ctx, "c-42"), orders, "order.created", order(7)); err != nil {
		t.Fatal(err)
	}
	r := <-tail
	if r.Event != "order.created" || r.CorrID != "c-42" || !strings.Contains(string(r.Payload), `"orderId":"o-7"`) {
		t.Fatalf("record %+v payload %s", r, r.Payload)
	}
	// Logs are best effort over udp: emit until one shows (loopback rarely loses any).
	for i := 0; ; i++ {
		if _, err := events.Emit(ctx, orders, "log", logRecord(i)); err != nil {
			t.Fatal(err)
		}
		select {
		case r = <-tail:
		case <-time.After(100 * time.Millisecond):
			continue
		case <-ctx.Done():
			t.Fatal("no log in the tail")
		}
		break
	}
	if r.Event != "log" || r.From != "orders" || !strings.Contains(string(r.Payload), `"level":"info"`) {
		t.Fatalf("record %+v payload %s", r, r.Payload)
	}
}

// TestCloseStopsRetries: Close does not wait for ack retries to reach their deadline.
func TestCloseStopsRetries(t *testing.T) {
	leakCheck(t)
	set := loadSchemas(t)
	reg, cache := startRegistry(t)
	// billing's only instance registers an endpoint where nothing listens: every
	// attempt fails to connect and is retried.
	register(t, reg, set.Service("billing"), map[string]string{"domain": "http+json+gzip://" + closedAddr(t)})
	waitFor(t, "billing's instance", func() bool { return len(cache.Instances("billing")) == 1 })
	orders, err := events.New(set.Service("orders"), set, newDisc(t, cache), nil, nil)
	must(t, err)
	errc := make(chan error, 1)
	go func() {
		_, err := events.Emit(context.Background(), orders, "order.created", order(1))
		errc <- err
	}()
	waitFor(t, "a retry", func() bool { return orders.Stats().Retries > 0 })
	start := time.Now()
	must(t, orders.Close())
	if err := <-errc; jesus.CodeOf(err) == "" || time.Since(start) > 3*time.Second {
		t.Fatalf("emit after Close: %v, Close took %v", err, time.Since(start))
	}
}

// closedAddr returns a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	addr := l.Addr().String()
	l.Close()
	return addr
}
