// Package tour is the Go code README.md's tour shows — a server, a client, an event
// listener and emitter of the example services — kept compiling and running by its tests,
// which also check that every Go block of the README is a verbatim part of this file.
package tour

import (
	"context"
	"strconv"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/tlsconf"
	"github.com/jesus-go/jesus/events"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/jesus/auth"
	"github.com/jesus-go/jesus/jesus/discovery"
	"github.com/jesus-go/jesus/jesus/journal"
	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/registry"
	"github.com/jesus-go/jesus/schema/registry/embedded"
	"go.etcd.io/bbolt"
)

// OrderRef, Order and OrderEvent are the data of orders' schemas; only what the tour uses.
type (
	OrderRef struct {
		ID string `json:"id"`
	}
	Order struct {
		ID       string      `json:"id"`
		Customer Customer    `json:"customer"`
		Currency string      `json:"currency"`
		Lines    []OrderLine `json:"lines"`
		Status   string      `json:"status"`
	}
	Customer struct {
		ID    string `json:"id"`
		Email string `json:"email"`
	}
	OrderLine struct {
		SKU       string `json:"sku"`
		Quantity  int    `json:"quantity"`
		UnitPrice Money  `json:"unitPrice"`
	}
	Money struct {
		Amount   float64 `json:"amount"`
		Currency string  `json:"currency"`
	}
	OrderEvent struct {
		OrderID    string `json:"orderId"`
		CustomerID string `json:"customerId"`
		Total      Money  `json:"total"`
		At         string `json:"at"`
	}
)

// Registry runs etcd in dir on loopback (what "jesus registry serve" does) and opens the
// registry and its watch-fed cache on it; Close closes the three.
func Registry(ctx context.Context, dir string) (*embedded.Local, error) {
	// A free port; reg.Registry publishes and registers, reg.Cache follows etcd's watch
	// so that calls never wait on etcd. With a cluster of your own: registry.Open its
	// endpoints, then Watch.
	return embedded.StartLocal(ctx, embedded.Config{Dir: dir}, registry.Config{})
}

// Server serves orders.get over tcp and http (addr, e.g. "127.0.0.1:8080") and registers
// the instance, so that clients find it.
func Server(ctx context.Context, reg *registry.Registry, addr string) (*jesus.Server, error) {
	set, err := schema.LoadDir("schemas") // orders.json, billing.json, ... checked and compiled
	if err != nil {
		return nil, err
	}
	d := set.Service("orders") // orders@1.2.0
	srv := jesus.NewServer("orders", jesus.WithValidation(jesus.ServiceSchemas(set, d.Service, d.Version)))
	jesus.Handle(srv, "get", func(ctx context.Context, r OrderRef) (Order, error) {
		if r.ID != "o-1" {
			return Order{}, jesus.Errorf(jesus.CodeNotFound, "no order %q", r.ID)
		}
		return Order{ID: "o-1", Customer: Customer{ID: "c-1", Email: "ada@example.com"}, Currency: "EUR",
			Lines:  []OrderLine{{SKU: "BOK-1001", Quantity: 1, UnitPrice: Money{Amount: 39.9, Currency: "EUR"}}},
			Status: "paid"}, nil
	})
	if _, err := srv.ListenChannel(ctx, "rpc", "tcp+msgpack+zstd://127.0.0.1:0"); err != nil {
		return nil, err
	}
	if _, err := srv.ListenChannel(ctx, "domain", "http+json+gzip://"+addr); err != nil {
		return nil, err
	}
	if _, err := discovery.Register(ctx, srv, reg, d); err != nil { // publishes orders@1.2.0, registers under a lease
		return nil, err
	}
	return srv, nil // srv.Shutdown(ctx) deregisters, then drains
}

// Client calls orders.get through the registry: it picks the method's channel (tcp, from
// orders.json) and a live instance, and validates the request before sending it.
func Client(ctx context.Context, cache *registry.Cache) (Order, error) {
	disc := discovery.New(cache) // cache, err := reg.Watch(ctx): no etcd round trip per call
	defer disc.Close()
	c := jesus.NewClient("shop", jesus.WithResolver(disc), jesus.WithValidation(disc))
	defer c.Close()
	return jesus.Call[OrderRef, Order](ctx, c, "orders.get", OrderRef{ID: "o-1"})
}

// Timing is an interceptor: on a client or a server (jesus.WithInterceptors), it sees
// every call, its decoded request and its outcome.
func Timing(observe func(method string, took time.Duration, code jesus.Code)) jesus.Interceptor {
	return jesus.UnaryInterceptorFunc(func(next jesus.UnaryFunc) jesus.UnaryFunc {
		return func(ctx context.Context, call *jesus.Invocation) error {
			start := time.Now()
			err := next(ctx, call) // the call itself: send and wait, or run the handler
			observe(call.Method, time.Since(start), jesus.CodeOf(err))
			return err
		}
	})
}

// Listen makes billing listen to order.created; srv is billing's server, which must be
// registered (discovery.Register) after On, so that emitters find it.
func Listen(set *schema.Set, srv *jesus.Server, got chan<- OrderEvent) (*events.Bus, error) {
	bus, err := events.New(set.Service("billing"), set, nil, nil, srv) // no discovery, no client: it only listens
	if err != nil {
		return nil, err
	}
	err = events.On(bus, "order.created", func(ctx context.Context, ev events.Event[OrderEvent]) error {
		got <- ev.Payload // validated against billing's listens["order.created"] before the ack
		return nil
	})
	return bus, err
}

// Emit sends order.created from orders to every service that listens to it, over the
// channel orders.json declares for it (http+json+gzip, ack mode).
func Emit(ctx context.Context, set *schema.Set, disc *discovery.Discovery, c *jesus.Client) (events.Result, error) {
	bus, err := events.New(set.Service("orders"), set, disc, c, nil) // listeners through disc, sent by c; nil server: emit only
	if err != nil {
		return events.Result{}, err
	}
	defer bus.Close()
	return events.Emit(ctx, bus, "order.created", OrderEvent{OrderID: "o-1", CustomerID: "c-1",
		Total: Money{Amount: 39.9, Currency: "EUR"}, At: "2026-01-02T03:04:05Z"})
	// res.Acked lists the services that acknowledged it, e.g. [billing audit]
}

// Durable makes billing's acks mean "it will run": each ack-mode request is on disk
// before its ack and replayed at the next start if the process died before its handler
// returned; a retried event whose id was accepted before is acked again, not run twice.
func Durable(path string) (*jesus.Server, *journal.Journal, error) {
	j, err := journal.Open(path, journal.WithKey(events.JournalKey)) // a bbolt file
	if err != nil {
		return nil, nil, err
	}
	return jesus.NewServer("billing", jesus.WithJournal(j)), j, nil
}

// Charge is one charge that DurableCharges records.
type Charge struct {
	Order string `json:"order"`
	Cents int    `json:"cents"`
}

// DurableCharges records each charge exactly once, even across a kill: the effect is
// written into the journal's own file in the transaction that ends the request.
func DurableCharges(srv *jesus.Server, j *journal.Journal) {
	jesus.HandleOneWay(srv, "charge", func(ctx context.Context, c Charge) error {
		return j.Commit(ctx, func(tx *bbolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists([]byte("charges"))
			if err != nil {
				return err
			}
			return b.Put([]byte(c.Order), []byte(strconv.Itoa(c.Cents)))
		})
	})
}

// Secure serves a ledger with mutual TLS from PEM files (read again when they change) and
// verified callers: a caller is the service its certificate names, and only the services
// that desc's "allow" lists may call a method.
func Secure(ctx context.Context, desc *schema.Descriptor, caFile, certFile, keyFile string) (*jesus.Server, error) {
	src, err := tlsconf.Load(tlsconf.Files{CA: caFile, Cert: certFile, Key: keyFile})
	if err != nil {
		return nil, err
	}
	// One Source serves both roles: the listener (it requires client certificates that
	// chain to the CA) and the dialer.
	mtls := jesus.WithChannelConfig(channel.Config{TLS: src.Config()})
	srv := jesus.NewServer("ledger", mtls, jesus.WithInterceptors(auth.Interceptor(auth.Config{
		TrustDomain: "example.org",        // the caller is spiffe://example.org/<service>
		Allow:       auth.AllowFrom(desc), // "allow": [...] of each method
	})))
	jesus.Handle(srv, "post", func(ctx context.Context, amount int) (int, error) { return amount, nil })
	if _, err := srv.Listen(ctx, "tcp+msgpack+zstd://127.0.0.1:0"); err != nil { // bound as tcp+tls+msgpack+zstd
		return nil, err
	}
	return srv, nil
}
