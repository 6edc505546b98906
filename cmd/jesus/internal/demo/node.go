package demo

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/events"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/jesus/discovery"
	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/compat"
	"github.com/jesus-go/jesus/schema/registry"
)

// World is what the services share: the descriptors, the registry and a directory for
// unix sockets.
type World struct {
	Set    *schema.Set
	Reg    *registry.Registry
	Cache  *registry.Cache
	Dir    string
	Logger *slog.Logger // nil: discard
	// HTTPAddr, when set, is where orders serves its http channel (e.g. 127.0.0.1:8080),
	// so that a curl written in advance reaches it; else a free loopback port.
	HTTPAddr string
}

// Node is one running service: its server, event bus, client (resolving through the
// registry) and startup compatibility check.
type Node struct {
	Desc   *schema.Descriptor
	Server *jesus.Server
	Bus    *events.Bus
	Client *jesus.Client
	Compat *discovery.Compat
	disc   *discovery.Discovery
}

// Close stops the node at once.
func (n *Node) Close() {
	n.shutdown(context.Background(), true)
}

// Shutdown deregisters the node, drains its calls within ctx and closes it.
func (n *Node) Shutdown(ctx context.Context) error { return n.shutdown(ctx, false) }

func (n *Node) shutdown(ctx context.Context, hard bool) error {
	var err error
	if hard {
		err = n.Server.Close()
	} else {
		err = n.Server.Shutdown(ctx)
	}
	n.Bus.Close()
	n.Client.Close()
	n.disc.Close()
	if n.Compat != nil {
		n.Compat.Close()
	}
	return err
}

// startNode starts service svc: a server validating its own messages and its listens'
// payloads, a bus, a client; setup registers the handlers. It runs the startup
// compatibility check against the registry (refusing to start on a break), then listens
// on every channel of the descriptor on loopback and registers. The report is the check's.
func (w *World) startNode(ctx context.Context, svc string, setup func(*Node) error) (*Node, compat.Report, error) {
	d := w.Set.Service(svc)
	if d == nil {
		return nil, compat.Report{}, fmt.Errorf("no descriptor of %s", svc)
	}
	logger := w.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("service", svc)
	n := &Node{Desc: d}
	n.Server = jesus.NewServer(svc, jesus.WithValidation(jesus.ServiceSchemas(w.Set, d.Service, d.Version)), jesus.WithLogger(logger))
	n.disc = discovery.New(w.Cache)
	// What the node sends and receives is held to what its descriptor declares under calls,
	// else to the receiver's published schemas.
	n.Client = jesus.NewClient(svc, jesus.WithResolver(n.disc), jesus.WithValidation(jesus.CallerSchemas(w.Set, d.Service, d.Version, n.disc)), jesus.WithLogger(logger))
	bus, err := events.New(d, w.Set, n.disc, n.Client, n.Server, events.WithLogger(logger))
	if err != nil {
		n.Server.Close()
		n.Client.Close()
		n.disc.Close()
		return nil, compat.Report{}, err
	}
	n.Bus = bus
	if err := setup(n); err != nil {
		n.Close()
		return nil, compat.Report{}, err
	}
	c, err := discovery.StartCompat(d, w.Cache, discovery.CompatPolicy{}, logger)
	if err != nil {
		n.Close()
		return nil, compat.Report{}, err
	}
	n.Compat = c
	addrs := jesus.LoopbackAddrs(w.Dir)
	if w.HTTPAddr != "" && svc == "orders" {
		free := addrs
		addrs = func(name string, sp channel.Spec) string {
			if sp.Transport == "http" {
				return w.HTTPAddr
			}
			return free(name, sp)
		}
	}
	if err := n.Server.ListenDescriptor(ctx, d, addrs); err != nil {
		n.Close()
		return nil, compat.Report{}, err
	}
	if _, err := discovery.Register(ctx, n.Server, w.Reg, d); err != nil {
		n.Close()
		return nil, compat.Report{}, err
	}
	return n, c.Report(), nil
}

// Services are the three example services running in this process.
type Services struct {
	Orders, Billing, Audit *Node

	orders  *ordersState
	billing *billingState
	audit   *auditState
}

// StartServices starts billing, audit and orders (in that order, so that each startup
// check finds the peers before it) and waits until all three are visible in w.Cache.
// Reports holds each one's startup compatibility report.
func StartServices(ctx context.Context, w *World) (*Services, map[string]compat.Report, error) {
	s := &Services{billing: newBillingState(), audit: newAuditState(), orders: newOrdersState()}
	reports := map[string]compat.Report{}
	var err error
	var rep compat.Report
	if s.Billing, rep, err = w.startNode(ctx, "billing", s.billing.setup); err != nil {
		return nil, nil, fmt.Errorf("billing: %w", err)
	}
	reports["billing"] = rep
	if s.Audit, rep, err = w.startNode(ctx, "audit", s.audit.setup); err != nil {
		s.Billing.Close()
		return nil, nil, fmt.Errorf("audit: %w", err)
	}
	reports["audit"] = rep
	if s.Orders, rep, err = w.startNode(ctx, "orders", s.orders.setup); err != nil {
		s.Billing.Close()
		s.Audit.Close()
		return nil, nil, fmt.Errorf("orders: %w", err)
	}
	reports["orders"] = rep
	if err := WaitInstances(ctx, w.Cache, "orders", "billing", "audit"); err != nil {
		s.Close()
		return nil, nil, err
	}
	return s, reports, nil
}

// Close stops every service at once.
func (s *Services) Close() {
	for _, n := range []*Node{s.Orders, s.Audit, s.Billing} {
		if n != nil {
			n.Close()
		}
	}
}

// Shutdown stops every service gracefully: deregistered first, then drained within ctx.
func (s *Services) Shutdown(ctx context.Context) error {
	var first error
	for _, n := range []*Node{s.Orders, s.Audit, s.Billing} {
		if err := n.Shutdown(ctx); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// WaitInstances waits until every service has a live instance in cache, or ctx ends.
func WaitInstances(ctx context.Context, cache *registry.Cache, svcs ...string) error {
	ch, stop := cache.Subscribe()
	defer stop()
	for {
		missing := ""
		for _, s := range svcs {
			if len(cache.Instances(s)) == 0 {
				missing = s
				break
			}
		}
		if missing == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no live instance of %s in the registry: %w", missing, ctx.Err())
		case _, ok := <-ch:
			if !ok {
				return fmt.Errorf("registry cache closed while waiting for %s", missing)
			}
		}
	}
}
