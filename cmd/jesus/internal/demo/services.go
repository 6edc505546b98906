package demo

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/events"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/jesus/discovery"
	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/compat"
	"github.com/jesus-go/jesus/schema/registry"
)

// The data types of the example descriptors (schemas/common.defs.json, orders.json, ...).
type (
	// Money is common.defs Money.
	Money struct {
		Amount   float64 `json:"amount"`
		Currency string  `json:"currency"`
	}
	// Customer is common.defs Customer.
	Customer struct {
		ID    string `json:"id"`
		Name  string `json:"name,omitempty"`
		Email string `json:"email"`
	}
	// OrderLine is common.defs OrderLine.
	OrderLine struct {
		SKU       string   `json:"sku"`
		Title     string   `json:"title,omitempty"`
		Quantity  int      `json:"quantity"`
		UnitPrice Money    `json:"unitPrice"`
		Tags      []string `json:"tags,omitempty"`
	}
	// Order is orders' $defs Order.
	Order struct {
		ID       string      `json:"id,omitempty"`
		Customer Customer    `json:"customer"`
		Currency string      `json:"currency"`
		Lines    []OrderLine `json:"lines"`
		Note     string      `json:"note,omitempty"`
		Status   string      `json:"status,omitempty"`
	}
	// OrderRef is orders' $defs OrderRef.
	OrderRef struct {
		ID string `json:"id"`
	}
	// StatusChange is one item of orders.watch.
	StatusChange struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	// OrderEvent is the payload of order.created.
	OrderEvent struct {
		OrderID    string `json:"orderId"`
		CustomerID string `json:"customerId"`
		Total      Money  `json:"total"`
		At         string `json:"at"`
	}
	// ChargeRequest is billing.charge's request.
	ChargeRequest struct {
		OrderID    string `json:"orderId"`
		CustomerID string `json:"customerId"`
		Amount     Money  `json:"amount"`
	}
	// ChargeResponse is billing.charge's response.
	ChargeResponse struct {
		ChargeID string `json:"chargeId"`
		Status   string `json:"status"`
		Reason   string `json:"reason,omitempty"`
	}
	// LogRecord is the payload of log.
	LogRecord struct {
		Level   string         `json:"level"`
		Msg     string         `json:"msg"`
		At      string         `json:"at"`
		Service string         `json:"service,omitempty"`
		Attrs   map[string]any `json:"attrs,omitempty"`
	}
	// TailRequest is audit.tail's request.
	TailRequest struct {
		Kinds []string `json:"kinds,omitempty"`
		Limit int      `json:"limit,omitempty"`
	}
	// Entry is one item of audit.tail.
	Entry struct {
		Kind string         `json:"kind"`
		At   string         `json:"at"`
		Data map[string]any `json:"data,omitempty"`
	}
)

// ChargeLimit is the amount above which billing declines a charge.
const ChargeLimit = 5000

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

// signal is a counter whose growth can be waited for.
type signal struct {
	mu   sync.Mutex
	n    int
	last string
	wake chan struct{}
}

func (s *signal) add(what string) {
	s.mu.Lock()
	s.n++
	s.last = what
	if s.wake != nil {
		close(s.wake)
		s.wake = nil
	}
	s.mu.Unlock()
}

func (s *signal) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// waitFor waits until the count reaches n and returns the last thing added.
func (s *signal) waitFor(ctx context.Context, n int) (string, error) {
	for {
		s.mu.Lock()
		if s.n >= n {
			last := s.last
			s.mu.Unlock()
			return last, nil
		}
		if s.wake == nil {
			s.wake = make(chan struct{})
		}
		wake := s.wake
		got := s.n
		s.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return "", fmt.Errorf("%d of %d arrived: %w", got, n, ctx.Err())
		}
	}
}

func now() string { return time.Now().UTC().Format(time.RFC3339Nano) }

// ---- billing ----

type billingState struct {
	sawOrder signal // order.created events handled
}

func newBillingState() *billingState { return &billingState{} }

func (b *billingState) setup(n *Node) error {
	jesus.Handle(n.Server, "charge", func(ctx context.Context, r ChargeRequest) (ChargeResponse, error) {
		res := ChargeResponse{ChargeID: "ch-" + r.OrderID, Status: "accepted"}
		if r.Amount.Amount > ChargeLimit {
			res.Status, res.Reason = "declined", fmt.Sprintf("over the limit of %d", ChargeLimit)
		}
		events.Emit(ctx, n.Bus, "log", LogRecord{Level: "info", Msg: "charge " + res.Status, At: now(), Service: "billing",
			Attrs: map[string]any{"order": r.OrderID, "amount": r.Amount.Amount}})
		return res, nil
	})
	return events.On(n.Bus, "order.created", func(ctx context.Context, ev events.Event[OrderEvent]) error {
		b.sawOrder.add(ev.Payload.OrderID)
		return nil
	})
}

// ---- audit ----

// maxTrail bounds audit's in-memory trail.
const maxTrail = 10000

type auditState struct {
	mu      sync.Mutex
	trail   []Entry
	sawOrdr signal
	sawLog  signal
}

func newAuditState() *auditState { return &auditState{} }

func (a *auditState) record(kind string, at time.Time, data map[string]any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.trail) == maxTrail {
		a.trail = slices.Delete(a.trail, 0, 1)
	}
	a.trail = append(a.trail, Entry{Kind: kind, At: at.UTC().Format(time.RFC3339Nano), Data: data})
}

func (a *auditState) setup(n *Node) error {
	jesus.HandleStream(n.Server, "tail", func(ctx context.Context, r TailRequest, send func(Entry) error) error {
		a.mu.Lock()
		var out []Entry
		for i := len(a.trail) - 1; i >= 0; i-- { // newest first
			e := a.trail[i]
			if len(r.Kinds) == 0 || slices.Contains(r.Kinds, e.Kind) {
				out = append(out, e)
			}
			if r.Limit > 0 && len(out) == r.Limit {
				break
			}
		}
		a.mu.Unlock()
		for _, e := range out {
			if err := send(e); err != nil {
				return err
			}
		}
		return nil
	})
	if err := events.On(n.Bus, "order.created", func(ctx context.Context, ev events.Event[map[string]any]) error {
		a.record("order.created", ev.At, ev.Payload)
		id, _ := ev.Payload["orderId"].(string)
		a.sawOrdr.add(id)
		return nil
	}); err != nil {
		return err
	}
	return events.On(n.Bus, "log", func(ctx context.Context, ev events.Event[map[string]any]) error {
		a.record("log", ev.At, ev.Payload)
		msg, _ := ev.Payload["msg"].(string)
		a.sawLog.add(msg)
		return nil
	})
}

// ---- orders ----

// maxOrders bounds orders' in-memory store.
const maxOrders = 100000

type ordersState struct {
	mu      sync.Mutex
	next    int
	orders  map[string]*Order
	history map[string][]string
	trace   []string // what create did, for the transcript

	touched   signal
	submitted signal
}

func newOrdersState() *ordersState {
	return &ordersState{orders: map[string]*Order{}, history: map[string][]string{}}
}

func (o *ordersState) tracef(format string, args ...any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.trace) < 100 {
		o.trace = append(o.trace, fmt.Sprintf(format, args...))
	}
}

// drainTrace returns and forgets what create did since the last call.
func (o *ordersState) drainTrace() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	t := o.trace
	o.trace = nil
	return t
}

func (o *ordersState) setStatus(id, status string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	ord, ok := o.orders[id]
	if !ok {
		return false
	}
	ord.Status = status
	o.history[id] = append(o.history[id], status)
	return true
}

func orderTotal(ord Order) float64 {
	var t float64
	for _, l := range ord.Lines {
		t += float64(l.Quantity) * l.UnitPrice.Amount
	}
	return math.Round(t*100) / 100
}

func (o *ordersState) setup(n *Node) error {
	jesus.Handle(n.Server, "create", func(ctx context.Context, ord Order) (OrderRef, error) {
		o.mu.Lock()
		if len(o.orders) >= maxOrders {
			o.mu.Unlock()
			return OrderRef{}, jesus.Errorf(jesus.CodeResourceExhausted, "orders: the demo store holds at most %d orders", maxOrders)
		}
		o.next++
		id := fmt.Sprintf("o-%d", o.next)
		ord.ID, ord.Status = id, "new"
		o.orders[id] = &ord
		o.history[id] = []string{"new"}
		o.mu.Unlock()

		total := Money{Amount: orderTotal(ord), Currency: ord.Currency}
		start := time.Now()
		ch, err := jesus.Call[ChargeRequest, ChargeResponse](ctx, n.Client, "billing.charge",
			ChargeRequest{OrderID: id, CustomerID: ord.Customer.ID, Amount: total})
		if err != nil {
			o.tracef("orders → billing.charge failed: %v", err)
			return OrderRef{}, err
		}
		o.tracef("orders → billing.charge %.2f %s over %s: %s %s (%v)", total.Amount, total.Currency,
			channelOf(n, "billing", "charge"), ch.Status, ch.ChargeID, since(start))
		if ch.Status == "accepted" {
			o.setStatus(id, "paid")
		}
		start = time.Now()
		res, err := events.Emit(ctx, n.Bus, "order.created", OrderEvent{OrderID: id, CustomerID: ord.Customer.ID, Total: total, At: now()})
		if err != nil {
			o.tracef("orders emits order.created: %v", err)
			return OrderRef{}, err
		}
		o.tracef("orders emits order.created (ack, %s): acked by %s (%v)", n.Desc.Channels[n.Desc.Events["order.created"].Channel].Spec(),
			strings.Join(res.Acked, ", "), since(start))
		events.Emit(ctx, n.Bus, "log", LogRecord{Level: "info", Msg: "order created", At: now(), Service: "orders", Attrs: map[string]any{"order": id}})
		return OrderRef{ID: id}, nil
	})
	jesus.Handle(n.Server, "get", func(ctx context.Context, r OrderRef) (Order, error) {
		o.mu.Lock()
		defer o.mu.Unlock()
		ord, ok := o.orders[r.ID]
		if !ok {
			return Order{}, jesus.Errorf(jesus.CodeNotFound, "orders: no order %q", r.ID)
		}
		return *ord, nil
	})
	jesus.HandleStream(n.Server, "watch", func(ctx context.Context, r OrderRef, send func(StatusChange) error) error {
		o.mu.Lock()
		h, ok := o.history[r.ID]
		h = slices.Clone(h)
		o.mu.Unlock()
		if !ok {
			return jesus.Errorf(jesus.CodeNotFound, "orders: no order %q", r.ID)
		}
		for _, st := range h {
			if err := send(StatusChange{ID: r.ID, Status: st}); err != nil {
				return err
			}
		}
		return nil
	})
	jesus.HandleOneWay(n.Server, "touch", func(ctx context.Context, r OrderRef) error {
		o.touched.add(r.ID + " " + channelName(ctx))
		return nil
	})
	jesus.HandleOneWay(n.Server, "submit", func(ctx context.Context, r OrderRef) error {
		if o.setStatus(r.ID, "submitted") {
			o.submitted.add(r.ID + " " + channelName(ctx))
			return nil
		}
		o.submitted.add(r.ID + " unknown")
		return jesus.Errorf(jesus.CodeNotFound, "orders: no order %q", r.ID)
	})
	return nil
}

// channelName is the transport a handler's request came over, from its meta.
func channelName(ctx context.Context) string {
	if m, ok := jesus.MsgFromContext(ctx); ok && m.Meta.Channel != "" {
		return m.Meta.Channel
	}
	return "?"
}

// channelOf is the channel spec of a method in the receiver's descriptor.
func channelOf(n *Node, svc, method string) string {
	d := n.disc.Schemas().Service(svc)
	if d == nil {
		return "?"
	}
	return d.Channels[d.Methods[method].Channel].Spec()
}

func since(t time.Time) time.Duration { return roundDur(time.Since(t)) }

func roundDur(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	default:
		return d.Round(time.Microsecond)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
