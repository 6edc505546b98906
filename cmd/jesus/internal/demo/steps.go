package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/events"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/jesus/discovery"
	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/compat"
	"github.com/jesus-go/jesus/schema/registry"
	"github.com/jesus-go/jesus/schema/registry/embedded"
)

// wait bounds a wait for something a step expects to happen.
const wait = 5 * time.Second

func (d *run) startRegistry() error {
	tmp, err := os.MkdirTemp("", "jesus-demo-")
	if err != nil {
		return err
	}
	d.tmp = tmp
	start := time.Now()
	emb, err := embedded.Start(d.ctx, embedded.Config{Dir: tmp + "/etcd"})
	if err != nil {
		return err
	}
	d.emb = emb
	d.where = "embedded etcd " + strings.Join(emb.Endpoints(), ",")
	d.t.printf("etcd serving on %s, data in %s (%v)", strings.Join(emb.Endpoints(), ","), tmp, since(start))
	reg, err := registry.Open(d.ctx, registry.Config{Endpoints: emb.Endpoints(), TTL: 2 * time.Second})
	if err != nil {
		return err
	}
	cache, err := reg.Watch(d.ctx)
	if err != nil {
		reg.Close()
		return err
	}
	d.w = &World{Reg: reg, Cache: cache, Dir: tmp, Logger: d.logger()}
	return nil
}

func (d *run) useRegistry() error {
	d.where = "etcd " + strings.Join(d.cfg.Registry.Config().Endpoints, ",")
	d.t.printf("%s", d.where)
	cache, err := d.cfg.Registry.Watch(d.ctx)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "jesus-demo-")
	if err != nil {
		cache.Close()
		return err
	}
	d.tmp = tmp
	d.w = &World{Reg: d.cfg.Registry, Cache: cache, Dir: tmp, Logger: d.logger(), HTTPAddr: d.cfg.HTTPAddr}
	return nil
}

func (d *run) publish() error {
	dir, err := FindSchemas(d.cfg.Schemas)
	if err != nil {
		return err
	}
	start := time.Now()
	set, err := loadSet(dir)
	if err != nil {
		return err
	}
	for _, svc := range []string{"orders", "billing", "audit"} {
		if set.Service(svc) == nil {
			return fmt.Errorf("%s holds no descriptor of %s", dir, svc)
		}
	}
	d.w.Set = set
	descs := set.Services()
	d.t.printf("loaded %s: %d descriptors, every schema compiled (%v)", dir, len(descs), since(start))
	for _, desc := range descs {
		start := time.Now()
		doc, err := desc.Bundle()
		if err != nil {
			return err
		}
		if err := d.w.Reg.PublishDescriptor(d.ctx, desc.Service, desc.Version, doc); err != nil {
			return err
		}
		d.t.printf("published %-15s %5d bytes  methods %-28s emits %-20s listens %s (%v)", desc.ID(), len(doc),
			strings.Join(slices.Sorted(maps.Keys(desc.Methods)), ","), strings.Join(slices.Sorted(maps.Keys(desc.Events)), ","),
			strings.Join(slices.Sorted(maps.Keys(desc.Listens)), ","), since(start))
	}
	return nil
}

func (d *run) startServices() error {
	start := time.Now()
	svcs, reports, err := StartServices(d.ctx, d.w)
	if err != nil {
		return err
	}
	d.svcs = svcs
	for _, n := range []*Node{svcs.Billing, svcs.Audit, svcs.Orders} {
		var eps []string
		for _, name := range slices.Sorted(maps.Keys(n.Server.Endpoints())) {
			eps = append(eps, name+"="+n.Server.Endpoints()[name])
		}
		d.t.printf("%s listening: %s", n.Desc.ID(), strings.Join(eps, " "))
	}
	rep := reports["orders"]
	if rep.Verdict() != compat.Compatible || len(rep.Items) == 0 {
		return fmt.Errorf("orders' startup check: want compatible items, got %s:\n%s", rep.Verdict(), rep.String())
	}
	d.t.printf("orders@1.2.0 startup check against the live registry: %s", rep.Verdict())
	for _, it := range rep.Items {
		if it.Kind == compat.KindNote {
			continue
		}
		d.t.printf("  %-5s %-14s %s → %s %s: %s", it.Kind, it.Name, it.From, it.To, it.Part, it.Verdict)
	}
	d.t.printf("all three registered and visible in the registry (%v)", since(start))
	return nil
}

func sampleOrder() Order {
	return Order{
		Customer: Customer{ID: "c-42", Name: "Ada", Email: "ada@example.com"},
		Currency: "EUR",
		Lines: []OrderLine{
			{SKU: "BOK-1001", Title: "The Go Programming Language", Quantity: 1, UnitPrice: Money{Amount: 39.9, Currency: "EUR"}},
			{SKU: "PEN-2002", Quantity: 3, UnitPrice: Money{Amount: 2.5, Currency: "EUR"}},
		},
	}
}

// client is the demo's own client: it resolves methods and validates requests through the
// registry. With chName it goes to that channel of the receiver instead of the method's.
func (d *run) client(chName string) (*jesus.Client, func()) {
	disc := discovery.New(d.w.Cache)
	var res jesus.Resolver = disc
	if chName != "" {
		res = disc.OnChannel(chName)
	}
	c := jesus.NewClient("demo", jesus.WithResolver(res), jesus.WithValidation(disc))
	return c, func() { c.Close(); disc.Close() }
}

func (d *run) create() error {
	c, done := d.client("")
	defer done()
	ord := sampleOrder()
	d.svcs.orders.drainTrace()
	start := time.Now()
	ref, err := jesus.Call[Order, OrderRef](d.ctx, c, "orders.create", ord)
	took := since(start)
	if err != nil {
		return err
	}
	d.t.printf("→ orders.create over %s: %s", channelOf(d.svcs.Orders, "orders", "create"), compactJSON(ord))
	d.t.printf("← %s (%v)", compactJSON(ref), took)
	for _, line := range d.svcs.orders.drainTrace() {
		d.t.printf("  inside: %s", line)
	}
	if ref.ID == "" {
		return errors.New("no order id in the response")
	}
	d.order = ref.ID
	return nil
}

func (d *run) domainEvent() error {
	ctx, cancel := context.WithTimeout(d.ctx, wait)
	defer cancel()
	// The ack comes once a listener accepted the event; its handler runs right after.
	b, err := d.svcs.billing.sawOrder.waitFor(ctx, 1)
	if err != nil {
		return fmt.Errorf("billing's handler did not see order.created: %w", err)
	}
	a, err := d.svcs.audit.sawOrdr.waitFor(ctx, 1)
	if err != nil {
		return fmt.Errorf("audit's handler did not see order.created: %w", err)
	}
	if a != d.order || b != d.order {
		return fmt.Errorf("listeners saw orders %q (billing) and %q (audit), want %q", b, a, d.order)
	}
	st := d.svcs.Orders.Bus.Stats()
	d.t.printf("billing handled order.created %s; audit handled order.created %s", b, a)
	d.t.printf("orders' bus: emitted %d, acked %d, retries %d, failed %d", st.Emitted, st.Acked, st.Retries, st.Failed)
	if st.Acked < 2 || st.Failed != 0 {
		return fmt.Errorf("want 2 acks and no failure, got %+v", st)
	}
	return nil
}

// modes calls orders in every mode over one of its channels.
func (d *run) modes(chName string) error {
	spec := d.svcs.Orders.Desc.Channels[chName].Spec()
	ep := d.svcs.Orders.Server.Endpoints()[chName]
	d.t.printf("channel %s = %s", chName, ep)
	c, done := d.client(chName)
	defer done()
	udp := strings.HasPrefix(spec, "udp")
	ref := OrderRef{ID: d.order}
	if err := d.modeResponse(c, ref, udp); err != nil {
		return err
	}
	if err := d.modeStream(c, ref, udp); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(d.ctx, wait)
	defer cancel()
	if err := d.modeAck(ctx, c, ref); err != nil {
		return err
	}
	return d.modeNoResponse(ctx, c, ref)
}

// modeResponse gets the order; udp refuses the mode.
func (d *run) modeResponse(c *jesus.Client, ref OrderRef, udp bool) error {
	start := time.Now()
	got, err := jesus.Call[OrderRef, Order](d.ctx, c, "orders.get", ref)
	if udp {
		if jesus.CodeOf(err) != jesus.CodeUnimplemented {
			return fmt.Errorf("response over udp: want unimplemented, got %v", err)
		}
		d.t.printf("response    orders.get   refused as expected: %v", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("orders.get: %w", err)
	}
	if got.ID != d.order {
		return fmt.Errorf("orders.get returned order %q, want %q", got.ID, d.order)
	}
	d.t.printf("response    orders.get   %s → status %q, %d lines (%v)", compactJSON(ref), got.Status, len(got.Lines), since(start))
	return nil
}

// modeStream watches the order's history; udp refuses the mode.
func (d *run) modeStream(c *jesus.Client, ref OrderRef, udp bool) error {
	start := time.Now()
	var items []string
	var serr error
	for it, err := range jesus.Stream[OrderRef, StatusChange](d.ctx, c, "orders.watch", ref) {
		if err != nil {
			serr = err
			break
		}
		items = append(items, it.Status)
	}
	if udp {
		if jesus.CodeOf(serr) != jesus.CodeUnimplemented {
			return fmt.Errorf("stream over udp: want unimplemented, got %v", serr)
		}
		d.t.printf("stream      orders.watch refused as expected: %v", serr)
		return nil
	}
	if serr != nil {
		return fmt.Errorf("orders.watch: %w", serr)
	}
	if len(items) < 2 || items[0] != "new" {
		return fmt.Errorf("orders.watch items %v, want the order's history from \"new\"", items)
	}
	d.t.printf("stream      orders.watch %s → %d items %v then end (%v)", compactJSON(ref), len(items), items, since(start))
	return nil
}

// modeAck submits the order: the call returns once accepted; the handler runs after (it
// is waited for within ctx).
func (d *run) modeAck(ctx context.Context, c *jesus.Client, ref OrderRef) error {
	n := d.svcs.orders.submitted.count()
	start := time.Now()
	if err := jesus.Ack(d.ctx, c, "orders.submit", ref); err != nil {
		return fmt.Errorf("orders.submit: %w", err)
	}
	acked := since(start)
	seen, err := d.svcs.orders.submitted.waitFor(ctx, n+1)
	if err != nil {
		return fmt.Errorf("orders.submit was acked but its handler did not run: %w", err)
	}
	d.t.printf("ack         orders.submit %s → acked (%v); handler ran: %s", compactJSON(ref), acked, seen)
	return nil
}

// modeNoResponse touches the order: nothing comes back; the handler is seen running
// (within ctx).
func (d *run) modeNoResponse(ctx context.Context, c *jesus.Client, ref OrderRef) error {
	n := d.svcs.orders.touched.count()
	start := time.Now()
	if err := jesus.Send(d.ctx, c, "orders.touch", ref); err != nil {
		return fmt.Errorf("orders.touch: %w", err)
	}
	sent := since(start)
	seen, err := d.svcs.orders.touched.waitFor(ctx, n+1)
	if err != nil {
		return fmt.Errorf("orders.touch was sent but did not arrive: %w", err)
	}
	d.t.printf("noResponse  orders.touch  %s → sent (%v); handler ran %v after the send: %s", compactJSON(ref), sent, since(start), seen)
	return nil
}

// plainHTTP does what the README's curl does, with net/http.
func (d *run) plainHTTP() error {
	ep := d.svcs.Orders.Server.Endpoints()["domain"]
	sp, err := channel.ParseSpec(ep)
	if err != nil {
		return err
	}
	url := "http://" + sp.Addr + "/orders.get"
	body := `{"id":"` + d.order + `"}`
	d.t.printf("curl -sS -H 'Content-Type: application/json' -d '%s' %s", body, url)
	status, resp, took, err := postJSON(d.ctx, url, body)
	if err != nil {
		return err
	}
	d.t.printf("← %d %s (%v)", status, cut(resp), took)
	if status != http.StatusOK || !strings.Contains(resp, `"id":"`+d.order+`"`) {
		return fmt.Errorf("want 200 with the order, got %d %s", status, resp)
	}
	bad := `{"id":"no such id!"}`
	d.t.printf("curl -sS -H 'Content-Type: application/json' -d '%s' %s", bad, url)
	status, resp, took, err = postJSON(d.ctx, url, bad)
	if err != nil {
		return err
	}
	d.t.printf("← %d %s (%v)", status, cut(resp), took)
	if status != http.StatusBadRequest || !strings.Contains(resp, "invalid_argument") || !strings.Contains(resp, `"/id"`) {
		return fmt.Errorf("want 400 invalid_argument naming /id, got %d %s", status, resp)
	}
	return nil
}

func cut(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// postJSON posts body to url as curl -H 'Content-Type: application/json' -d body does.
func postJSON(ctx context.Context, url, body string) (int, string, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return 0, "", 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	start := time.Now()
	resp, err := (&http.Client{Transport: tr, Timeout: wait}).Do(req)
	if err != nil {
		return 0, "", 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b), since(start), err
}

func (d *run) logs() error {
	const n = 50
	ob := d.svcs.Orders.Bus
	before := d.svcs.audit.sawLog.count()
	sentBefore := ob.Stats().Sent
	start := time.Now()
	for i := 1; i <= n; i++ {
		rec := LogRecord{Level: "debug", Msg: fmt.Sprintf("demo log line %d", i), At: now(), Service: "orders", Attrs: map[string]any{"i": i}}
		res, err := events.Emit(d.ctx, ob, "log", rec)
		if err != nil {
			return fmt.Errorf("emit log %d: %w", i, err)
		}
		if i == 1 {
			d.t.printf("→ log (noResponse, %s) to %v: %s", d.svcs.Orders.Desc.Channels["logs"].Spec(), res.Sent, compactJSON(rec))
		}
	}
	d.t.printf("emitted %d log events in %v", n, since(start))
	ctx, cancel := context.WithTimeout(d.ctx, 2*time.Second)
	defer cancel()
	_, err := d.svcs.audit.sawLog.waitFor(ctx, before+n)
	got := d.svcs.audit.sawLog.count() - before
	os, as := ob.Stats(), d.svcs.Audit.Bus.Stats()
	d.t.printf("orders' bus: sent %d, dropped %d, oversize %d", os.Sent-sentBefore, os.Dropped, os.Oversize)
	d.t.printf("audit's bus: received %d of these %d (udp is best effort), lost (sequence gaps) %d, duplicates %d", got, n, as.Lost, as.Duplicates)
	if os.Sent-sentBefore != n {
		return fmt.Errorf("orders handed %d of %d log events to the transport", os.Sent-sentBefore, n)
	}
	// Loopback rarely drops a datagram, but udp may: expect nearly all, and every
	// gap the listener saw is counted.
	if err != nil && got < n*9/10 {
		return fmt.Errorf("audit received only %d of %d log events: %w", got, n, err)
	}
	return nil
}

func (d *run) auditTail() error {
	c, done := d.client("")
	defer done()
	req := TailRequest{Kinds: []string{"order.created", "log"}, Limit: 4}
	d.t.printf("→ audit.tail over %s: %s", channelOf(d.svcs.Orders, "audit", "tail"), compactJSON(req))
	start := time.Now()
	kinds := map[string]int{}
	n := 0
	for e, err := range jesus.Stream[TailRequest, Entry](d.ctx, c, "audit.tail", req) {
		if err != nil {
			return err
		}
		n++
		kinds[e.Kind]++
		d.t.printf("← item %d: %s", n, compactJSON(e))
	}
	d.t.printf("← end after %d items (%v)", n, since(start))
	if n != req.Limit {
		return fmt.Errorf("want %d entries, got %d", req.Limit, n)
	}
	return nil
}

func (d *run) validation() error {
	bad := sampleOrder()
	bad.Lines[0].SKU = "book"
	bad.Lines[0].Quantity = 0
	bad.Currency = "EURO"
	want := []string{"/currency", "/lines/0/quantity", "/lines/0/sku"}

	c, done := d.client("")
	defer done()
	d.t.printf("→ orders.create %s", compactJSON(bad))
	start := time.Now()
	_, err := jesus.Call[Order, OrderRef](d.ctx, c, "orders.create", bad)
	if err := expectRefusal(err, false, want); err != nil {
		return fmt.Errorf("client-side: %w", err)
	}
	d.t.printf("← refused by the caller before sending (%v): %v", since(start), err)

	// A client without validation sends it; the receiver refuses it with the same pointers.
	raw := jesus.NewClient("demo", jesus.WithTarget(d.svcs.Orders.Server.Endpoints()["rpc"]))
	defer raw.Close()
	start = time.Now()
	_, err = jesus.Call[Order, OrderRef](d.ctx, raw, "orders.create", bad)
	if err := expectRefusal(err, true, want); err != nil {
		return fmt.Errorf("receiver-side: %w", err)
	}
	d.t.printf("← the same, sent without client-side validation, refused by orders (%v): %v", since(start), err)

	// An event payload is checked by the emitter too.
	_, err = events.Emit(d.ctx, d.svcs.Orders.Bus, "order.created", OrderEvent{OrderID: "o 1", CustomerID: "c-1", Total: Money{Amount: -1, Currency: "EUR"}, At: now()})
	if err := expectRefusal(err, false, []string{"/orderId", "/total/amount"}); err != nil {
		return fmt.Errorf("event payload: %w", err)
	}
	d.t.printf("← emit order.created with a bad payload refused by the emitter: %v", err)

	// The caller checks replies too: a billing that answers what no schema allows is
	// refused by orders, which holds it to its calls["billing.charge"].
	rogue := jesus.NewServer("billing") // no validation of its own
	jesus.Handle(rogue, "charge", func(ctx context.Context, _ map[string]any) (map[string]any, error) {
		return map[string]any{"chargeId": "ch-1", "status": "maybe"}, nil
	})
	sp, err := rogue.Listen(d.ctx, "tcp+msgpack://127.0.0.1:0")
	if err != nil {
		return err
	}
	defer rogue.Close()
	od := d.w.Set.Service("orders")
	caller := jesus.NewClient("orders", jesus.WithTarget(sp.String()),
		jesus.WithValidation(jesus.CallerSchemas(d.w.Set, od.Service, od.Version, jesus.ReceiverSchemas(d.w.Set))))
	defer caller.Close()
	charge := map[string]any{"orderId": "o-1", "customerId": "c-1", "amount": map[string]any{"amount": 39.9, "currency": "EUR"}}
	_, err = jesus.Call[map[string]any, map[string]any](d.ctx, caller, "billing.charge", charge)
	if je := jesus.AsError(err); je == nil || je.Code != jesus.CodeBadResponse || len(je.Failures) == 0 || je.Failures[0].Pointer != "/status" {
		return fmt.Errorf("a reply breaking the caller's schema: want bad_response at /status, got %v", err)
	}
	d.t.printf("← a billing that answers {\"status\":\"maybe\"} refused by its caller: %v", err)
	return nil
}

// expectRefusal checks that err is invalid_argument (remote or not) naming every pointer.
func expectRefusal(err error, remote bool, pointers []string) error {
	je := jesus.AsError(err)
	if je == nil || je.Code != jesus.CodeInvalidArgument {
		return fmt.Errorf("want invalid_argument, got %v", err)
	}
	if je.Remote != remote {
		return fmt.Errorf("want remote=%v, got %v", remote, err)
	}
	var got []string
	for _, f := range je.Failures {
		got = append(got, f.Pointer)
	}
	for _, p := range pointers {
		if !slices.Contains(got, p) {
			return fmt.Errorf("pointer %s missing from %v", p, got)
		}
	}
	return nil
}

// breakingOrders is orders@1.3.0: it expects billing.charge to answer only "accepted",
// while billing may answer "declined" too.
func breakingOrders(set *schema.Set) ([]byte, error) {
	d := set.Service("orders")
	var doc map[string]any
	if err := json.Unmarshal(d.Raw, &doc); err != nil {
		return nil, err
	}
	doc["version"] = "1.3.0"
	doc["calls"] = map[string]any{"billing.charge": map[string]any{
		"request": map[string]any{"$ref": "common.defs.json#/$defs/ChargeRequest"},
		"response": map[string]any{
			"type": "object", "required": []string{"chargeId", "status"},
			"properties": map[string]any{"chargeId": map[string]any{"type": "string"}, "status": map[string]any{"const": "accepted"}},
		},
	}}
	return json.MarshalIndent(doc, "", "  ")
}

func (d *run) breaking() error {
	dir, err := FindSchemas(d.cfg.Schemas)
	if err != nil {
		return err
	}
	set, err := loadSet(dir) // a set of its own: 1.3.0 must not become orders' latest here
	if err != nil {
		return err
	}
	doc, err := breakingOrders(set)
	if err != nil {
		return err
	}
	if err := set.Add("orders-1.3.0.json", doc); err != nil {
		return err
	}
	d13 := set.Get("orders", "1.3.0")
	d.t.printf("orders@1.3.0 changes calls.billing.charge.response.properties.status to {\"const\": \"accepted\"}")
	start := time.Now()
	c, err := discovery.StartCompat(d13, d.w.Cache, discovery.CompatPolicy{}, nil)
	if err == nil {
		c.Close()
		return errors.New("orders@1.3.0 started although billing may answer \"declined\"")
	}
	if jesus.CodeOf(err) != jesus.CodeIncompatible {
		return fmt.Errorf("want incompatible, got %v", err)
	}
	d.t.printf("refused to start (%v):", since(start))
	d.t.printf("%s", indent(jesus.AsError(err).Message))
	if _, _, ok := d.w.Cache.Latest("orders"); ok {
		if v, _, _ := d.w.Cache.Latest("orders"); v != "1.2.0" {
			return fmt.Errorf("orders' latest version is %s, want 1.2.0 still", v)
		}
	}
	return nil
}

func (d *run) shutdown() error {
	ctx, cancel := context.WithTimeout(d.ctx, wait)
	defer cancel()
	start := time.Now()
	if err := d.svcs.Shutdown(ctx); err != nil {
		return err
	}
	d.t.printf("orders, audit, billing shut down gracefully (%v)", since(start))
	ch, stop := d.w.Cache.Subscribe()
	defer stop()
	for {
		left := len(d.w.Cache.Instances("orders")) + len(d.w.Cache.Instances("audit")) + len(d.w.Cache.Instances("billing"))
		if left == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d instances still registered: %w", left, ctx.Err())
		case <-ch:
		}
	}
	d.t.printf("no instance left in the registry (%v)", since(start))
	d.svcs = nil
	return nil
}
