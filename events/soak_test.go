package events_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jesus-go/jesus/events"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/jesus/discovery"
	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/registry"
)

// The soak's services: soak serves calls on all four transports and listens to soak.ping;
// soaker calls it and emits the event.
var soakFiles = fstest.MapFS{
	"soak.json": {Data: []byte(`{"service": "soak", "version": "1.0.0",
  "channels": {"rpc": "tcp+msgpack", "local": "unix+json", "web": "http+json+gzip", "dgram": "udp+msgpack"},
  "methods": {
    "echo": {"mode": "response", "channel": "rpc", "request": {"$ref": "#/$defs/Msg"}, "response": {"$ref": "#/$defs/Msg"}},
    "put": {"mode": "ack", "channel": "dgram", "request": {"$ref": "#/$defs/Msg"}},
    "count": {"mode": "stream", "channel": "rpc", "request": {"type": "integer", "minimum": 1, "maximum": 100}, "response": {"type": "integer"}}
  },
  "listens": {"soak.ping": {"payload": {"$ref": "#/$defs/Msg"}}},
  "$defs": {"Msg": {"type": "object", "required": ["id"], "additionalProperties": false, "properties": {"id": {"type": "string", "maxLength": 32}}}}}`)},
	"soaker.json": {Data: []byte(`{"service": "soaker", "version": "1.0.0", "channels": {"web": "http+json"}, "methods": {},
  "events": {"soak.ping": {"channel": "web", "mode": "ack", "payload": {"type": "object", "required": ["id"], "additionalProperties": false, "properties": {"id": {"type": "string", "maxLength": 32}}}}}}`)},
}

type soakMsg struct {
	ID string `json:"id"`
}

// soakHandled counts handler runs by id, over every instance.
type soakHandled struct{ m sync.Map } // id -> *atomic.Int64

func (h *soakHandled) add(id string) {
	v, _ := h.m.LoadOrStore(id, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

func (h *soakHandled) count(id string) int64 {
	if v, ok := h.m.Load(id); ok {
		return v.(*atomic.Int64).Load()
	}
	return 0
}

// startSoak starts one instance of soak, registered; stop shuts it down gracefully.
func startSoak(t *testing.T, set *schema.Set, reg *registry.Registry, puts, pings *soakHandled) (stop func()) {
	d := set.Service("soak")
	srv := jesus.NewServer("soak", jesus.WithValidation(jesus.ServiceSchemas(set, d.Service, d.Version)))
	jesus.Handle(srv, "echo", func(ctx context.Context, m soakMsg) (soakMsg, error) { return m, nil })
	jesus.HandleOneWay(srv, "put", func(ctx context.Context, m soakMsg) error { puts.add(m.ID); return nil })
	jesus.HandleStream(srv, "count", func(ctx context.Context, n int, send func(int) error) error {
		for i := range n {
			if err := send(i); err != nil {
				return err
			}
		}
		return nil
	})
	bus, err := events.New(d, set, nil, nil, srv)
	must(t, err)
	must(t, events.On(bus, "soak.ping", func(ctx context.Context, ev events.Event[soakMsg]) error {
		pings.add(ev.Payload.ID)
		return nil
	}))
	must(t, srv.ListenDescriptor(ctxT(t), d, jesus.LoopbackAddrs(t.TempDir())))
	if _, err := discovery.Register(ctxT(t), srv, reg, d); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil {
				t.Errorf("shutdown: %v", err)
			}
			bus.Close()
		})
	}
	t.Cleanup(stop)
	return stop
}

// TestSoak drives 100,000 mixed operations at two instances of a service, over tcp, unix,
// http and udp: response calls, ack calls, ack events and streams, with random
// cancellations, from 16 goroutines, and restarts one instance (graceful shutdown, a new
// one registered) midway. What must hold: every acknowledged put and event is handled, and
// none twice unless a counted retry to another instance explains it (delivery is at least
// once, duplicate suppression per instance); every response and stream item is the one
// asked for; goroutines and heap come back to where they were.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("a soak")
	}
	leakCheck(t)
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	set, err := schema.LoadFS(soakFiles)
	must(t, err)
	reg, cache := startRegistry(t)
	var puts, pings soakHandled
	startSoak(t, set, reg, &puts, &pings)
	stopB := startSoak(t, set, reg, &puts, &pings)
	waitFor(t, "two soak instances", func() bool { return len(cache.Instances("soak")) == 2 })

	disc := newDisc(t, cache)
	client := func(ch string) *jesus.Client {
		c := jesus.NewClient("soaker", jesus.WithResolver(disc.OnChannel(ch)), jesus.WithValidation(disc))
		t.Cleanup(func() { c.Close() })
		return c
	}
	clients := map[string]*jesus.Client{"rpc": client("rpc"), "local": client("local"), "web": client("web"), "dgram": client("dgram")}
	emitter, err := events.New(set.Service("soaker"), set, disc, clients["web"], nil)
	must(t, err)
	defer emitter.Close()

	const total = 100_000
	var c soakCounters
	restarted := make(chan struct{})
	restart := func() {
		stopB()
		startSoak(t, set, reg, &puts, &pings)
		close(restarted)
	}
	ctx, cancelAll := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancelAll()
	start := time.Now()
	c.run(ctx, total, 16, restart, clients, emitter)
	<-restarted
	elapsed := time.Since(start)

	nPuts, nPings := syncMapLen(&c.ackedPuts), syncMapLen(&c.ackedPings)
	waitFor(t, "every acked put and event handled", func() bool {
		all := true
		c.ackedPuts.Range(func(k, _ any) bool { all = puts.count(k.(string)) > 0; return all })
		if all {
			c.ackedPings.Range(func(k, _ any) bool { all = pings.count(k.(string)) > 0; return all })
		}
		return all
	})
	// At least once: an ack put is handled again only after the caller retried it (an
	// unavailable that may have come after the put arrived); an ack event only after the
	// emitter sent it to another instance (Rerouted), whose duplicate suppression is its own.
	twicePuts, twicePings := handledTwice(&puts), handledTwice(&pings)
	rerouted := emitter.Stats().Rerouted
	t.Logf("MEASURE soak: %d operations in %s (%.0f/s) over tcp, unix, http and udp, one instance restarted; %d acked puts, %d acked events, %d cancelled, %d retried, %d events rerouted; %d mismatched, %d puts and %d events handled twice",
		total, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds(), nPuts, nPings, c.canceled.Load(), c.retried.Load(), rerouted, c.mismatched.Load(), twicePuts, twicePings)
	unexplained := unretried(t, &puts, &c.retryErrs)
	if c.mismatched.Load() != 0 || unexplained != 0 || uint64(twicePings) > rerouted {
		t.Fatalf("%d mismatched responses, %d puts handled twice without a retry, %d events handled twice with %d rerouted",
			c.mismatched.Load(), unexplained, twicePings, rerouted)
	}

	for _, cl := range clients {
		cl.Close()
	}
	emitter.Close()
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	grew := float64(int64(after.HeapInuse)-int64(before.HeapInuse)) / (1 << 20)
	t.Logf("MEASURE soak: heap in use %+.1f MiB after, against before", grew)
	if grew > 64 {
		t.Fatalf("heap in use grew by %.1f MiB over the soak", grew)
	}
}

// soakCounters is what the soak's workers count and note.
type soakCounters struct {
	next, mismatched, canceled, retried atomic.Int64
	ackedPuts, ackedPings               sync.Map // id -> struct{}
	retryErrs                           sync.Map // id -> what made its operation try again
}

// run makes total operations from workers goroutines, about 5% of them cancelled at a
// random moment; it calls restart (in a goroutine of its own) halfway.
func (c *soakCounters) run(ctx context.Context, total int64, workers int, restart func(), clients map[string]*jesus.Client, emitter *events.Bus) {
	var restartOnce sync.Once
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for {
				i := c.next.Add(1)
				if i > total {
					return
				}
				if i == total/2 {
					restartOnce.Do(func() { go restart() })
				}
				id := strconv.FormatInt(i, 36)
				cancelThis := rng.IntN(20) == 0 // about 5% are cancelled at a random moment
				opCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
				if cancelThis {
					opCtx, cancel = context.WithTimeout(ctx, time.Duration(rng.IntN(300))*time.Microsecond)
				}
				ok := soakOp(opCtx, int(i%8), id, clients, emitter, &c.mismatched, &c.ackedPuts, &c.ackedPings, &c.retryErrs, &c.retried, cancelThis)
				cancel()
				if !ok && cancelThis {
					c.canceled.Add(1)
				}
			}
		}()
	}
	wg.Wait()
}

func syncMapLen(m *sync.Map) int {
	n := 0
	m.Range(func(_, _ any) bool { n++; return true })
	return n
}

// unretried counts the ids h handled more than once that the caller did not retry (no
// entry in retryErrs), and logs every id handled more than once.
func unretried(t *testing.T, h *soakHandled, retryErrs *sync.Map) int {
	n := 0
	h.m.Range(func(k, v any) bool {
		if runs := v.(*atomic.Int64).Load(); runs > 1 {
			why, retried := retryErrs.Load(k)
			if !retried {
				n++
			}
			t.Logf("%v handled %d times; retried after: %v", k, runs, why)
		}
		return true
	})
	return n
}

// handledTwice counts the ids handled more than once.
func handledTwice(hs ...*soakHandled) int {
	twice := 0
	for _, h := range hs {
		h.m.Range(func(k, v any) bool {
			if v.(*atomic.Int64).Load() > 1 {
				twice++
			}
			return true
		})
	}
	return twice
}

// soakOp runs operation kind for id, retrying what may succeed elsewhere (the restart
// sends some calls to an instance that is going away); it reports success. A cancelled
// operation is not retried.
func soakOp(ctx context.Context, kind int, id string, clients map[string]*jesus.Client, emitter *events.Bus,
	mismatched *atomic.Int64, ackedPuts, ackedPings, retryErrs *sync.Map, retried *atomic.Int64, once bool) bool {
	chans := []string{"rpc", "local", "web"}
	ch := chans[len(id)%3]
	for attempt := 0; ; attempt++ {
		var err error
		switch kind {
		case 0, 1, 2: // response calls
			var got soakMsg
			got, err = jesus.Call[soakMsg, soakMsg](ctx, clients[ch], "soak.echo", soakMsg{ID: id})
			if err == nil && got.ID != id {
				mismatched.Add(1)
			}
		case 3, 4: // ack calls, over udp too
			pch := []string{"dgram", "rpc", "web"}[len(id)%3]
			if err = jesus.Ack(ctx, clients[pch], "soak.put", soakMsg{ID: id}); err == nil {
				ackedPuts.Store(id, true)
			}
		case 5, 6: // ack events over http
			if _, err = events.Emit(ctx, emitter, "soak.ping", soakMsg{ID: id}); err == nil {
				ackedPings.Store(id, true)
			}
		default: // a stream of 5 items
			i := 0
			for n, serr := range jesus.Stream[int, int](ctx, clients[ch], "soak.count", 5) {
				if serr != nil {
					err = serr
					break
				}
				if n != i {
					mismatched.Add(1)
				}
				i++
			}
			if err == nil && i != 5 {
				err = fmt.Errorf("stream ended after %d items", i)
				mismatched.Add(1)
			}
		}
		if err == nil {
			return true
		}
		switch jesus.CodeOf(err) {
		case jesus.CodeUnavailable, jesus.CodeResourceExhausted:
		default:
			return false // cancelled, or a deadline: the caller gave up
		}
		if once || attempt == 20 || ctx.Err() != nil {
			return false
		}
		retryErrs.Store(id, fmt.Sprintf("operation %d: %v", kind, err))
		retried.Add(1)
	}
}
