package events_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel/udpchan/udptest"
	"github.com/jesus-go/jesus/events"
	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/registry"
)

// logger emits the same log events as orders, but in ack mode.
const logger = `{
  "service": "logger", "version": "1.0.0",
  "channels": {"logs": "udp+msgpack"},
  "events": {"log": {"channel": "logs", "mode": "ack", "payload": {"$ref": "common.defs.json#/$defs/LogRecord"}}}
}`

// lossyAudit starts one audit instance whose logs endpoint, as registered, is a proxy that
// drops the share drop of the datagrams both ways. s counts its log handler's runs.
func lossyAudit(t *testing.T, set *schema.Set, reg *registry.Registry, cache *registry.Cache, drop float64, s *seen) (*node, *udptest.Proxy) {
	t.Helper()
	var proxy *udptest.Proxy
	nd := startNodeVia(t, set, reg, cache, "audit", func(eps map[string]string) map[string]string {
		out := map[string]string{}
		for name, ep := range eps {
			out[name] = ep
		}
		spec, addr, _ := strings.Cut(eps["logs"], "://")
		proxy = udptest.NewLossyProxy(t, addr, drop, 7)
		out["logs"] = spec + "://" + proxy.Addr()
		return out
	}, func(b *events.Bus) {
		must(t, events.On(b, "log", func(ctx context.Context, ev events.Event[LogRecord]) error {
			s.add("audit", ev.ID, ev.CorrID)
			return nil
		}))
	})
	waitFor(t, "audit in the registry", func() bool { return len(cache.Instances("audit")) == 1 })
	return nd, proxy
}

// emitPaced emits n log events at about rate per second (a bounded rate, so that loss
// comes from the proxy, not from full socket buffers).
func emitPaced(t *testing.T, b *events.Bus, n, rate int, before func(i int)) {
	t.Helper()
	ctx := ctxT(t)
	start := time.Now()
	for i := range n {
		if before != nil {
			before(i)
		}
		if _, err := events.Emit(ctx, b, "log", logRecord(i)); err != nil {
			t.Fatalf("emit %d: %v", i, err)
		}
		if i%10 == 9 {
			if d := time.Until(start.Add(time.Duration(i+1) * time.Second / time.Duration(rate))); d > 0 {
				time.Sleep(d) // pacing the sender, not waiting for anything
			}
		}
	}
}

// TestLogLossCounted: log events over udp+msgpack in noResponse through a proxy that drops
// 20%: the listener's Received + Lost equals what was sent, Lost covers what the proxy
// dropped, and every received event ran its handler once.
func TestLogLossCounted(t *testing.T) {
	leakCheck(t)
	set := loadSchemas(t)
	reg, cache := startRegistry(t)
	var s seen
	audit, proxy := lossyAudit(t, set, reg, cache, 0.2, &s)
	orders := emitter(t, set, cache, "orders")

	const n = 1500
	// The last event must arrive for the gap before it to be seen: it goes through lossless.
	emitPaced(t, orders, n, 1000, func(i int) {
		if i == n-1 {
			proxy.SetDrop(0)
		}
	})
	waitFor(t, "received + lost to reach n", func() bool {
		st := audit.bus.Stats()
		return st.Received+st.Lost == n
	})
	em, ls := orders.Stats(), audit.bus.Stats()
	if em.Emitted != n || em.Sent != n || em.Dropped != 0 || em.Oversize != 0 {
		t.Errorf("emitter %+v", em)
	}
	// Every datagram the proxy dropped is counted lost. A loaded machine may also drop
	// some in full socket buffers before or after the proxy; they are counted too (the
	// wait above: Received + Lost == n) and shown below.
	beforeProxy := em.Sent - proxy.Forwarded() - proxy.Dropped()
	afterProxy := proxy.Forwarded() - ls.Received
	if ls.Lost == 0 || ls.Lost < proxy.Dropped() || ls.Lost != proxy.Dropped()+beforeProxy+afterProxy ||
		ls.Received != uint64(s.count("audit")) || len(s.twice("audit")) != 0 || ls.DecodeErrors != 0 {
		t.Errorf("listener %+v, proxy dropped %d, handler saw %d", ls, proxy.Dropped(), s.count("audit"))
	}
	t.Logf("noResponse through 20%% loss: sent %d, received %d, lost %d (%.1f%%): dropped by the proxy %d, in socket buffers before it %d, after it %d",
		em.Sent, ls.Received, ls.Lost, 100*float64(ls.Lost)/n, proxy.Dropped(), beforeProxy, afterProxy)
}

// TestLogAckThroughLoss: the same log events in ack mode through the same lossy proxy all
// arrive, each handled once.
func TestLogAckThroughLoss(t *testing.T) {
	leakCheck(t)
	set := loadSchemas(t, "logger.json", logger)
	reg, cache := startRegistry(t)
	var s seen
	audit, proxy := lossyAudit(t, set, reg, cache, 0.2, &s)
	lg := emitter(t, set, cache, "logger")
	ctx := ctxT(t)

	const n, workers = 400, 32
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				res, err := events.Emit(ctx, lg, "log", logRecord(i))
				if err == nil && len(res.Acked) != 1 {
					t.Errorf("emit %d: %+v", i, res)
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("ack emit through loss: %v", err)
	}
	// Acked means accepted: the handler runs just after the ack.
	waitFor(t, "every handler", func() bool { return audit.bus.Stats().Received >= n })
	ls, em := audit.bus.Stats(), lg.Stats()
	if ls.Received != n || s.count("audit") != n || len(s.twice("audit")) != 0 || em.Acked != n || em.Failed != 0 {
		t.Errorf("listener %+v, emitter %+v, handler saw %d", ls, em, s.count("audit"))
	}
	t.Logf("ack through 20%% loss: %d of %d received (%d duplicates suppressed by the bus), proxy dropped %d datagrams, emitter retries %d",
		ls.Received, n, ls.Duplicates, proxy.Dropped(), em.Retries)
}
