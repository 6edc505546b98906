package demo

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jesus-go/jesus/events"
	"github.com/jesus-go/jesus/jesus"
)

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
	jesus.Handle(n.Server, "create", func(ctx context.Context, ord Order) (OrderRef, error) { return o.create(ctx, n, ord) })
	jesus.Handle(n.Server, "get", o.get)
	jesus.HandleStream(n.Server, "watch", o.watch)
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

// create stores ord as a new order, has billing charge it and emits order.created.
func (o *ordersState) create(ctx context.Context, n *Node, ord Order) (OrderRef, error) {
	id, err := o.store(&ord)
	if err != nil {
		return OrderRef{}, err
	}
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
}

// store gives ord its id and status "new" and keeps it, unless the store is full.
func (o *ordersState) store(ord *Order) (string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.orders) >= maxOrders {
		return "", jesus.Errorf(jesus.CodeResourceExhausted, "orders: the demo store holds at most %d orders", maxOrders)
	}
	o.next++
	id := fmt.Sprintf("o-%d", o.next)
	ord.ID, ord.Status = id, "new"
	o.orders[id] = ord
	o.history[id] = []string{"new"}
	return id, nil
}

func (o *ordersState) get(ctx context.Context, r OrderRef) (Order, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	ord, ok := o.orders[r.ID]
	if !ok {
		return Order{}, jesus.Errorf(jesus.CodeNotFound, "orders: no order %q", r.ID)
	}
	return *ord, nil
}

// watch sends the statuses order r went through.
func (o *ordersState) watch(ctx context.Context, r OrderRef, send func(StatusChange) error) error {
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
