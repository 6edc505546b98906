package jesus_test

// The comparison with grpc-go, NATS, plain net/http and a raw TCP echo: the same order
// payloads, the same handlers, one process, one run. Run it with:
//
//	go test ./jesus -run '^$' -bench 'Compare|Validation' -benchtime 2s
//
// jesus validates every message at both ends against the descriptor in compareDescriptor
// (patterns, enums, date-times, bounds); the peers only decode with encoding/json, or, for
// the TCP echo, not at all. Each benchmark reports its rate and p50/p99 latency; after the
// run TestMain prints one line per target: scenario, jesus figure, peer figure, ratio,
// target and whether it was met. Peers are in peers_test.go.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/schema"
)

// streamItems is the length of every server stream of the comparison.
const streamItems = 1000

// runTimeout bounds one measured run, so that a stalled system fails instead of hanging.
const runTimeout = 3 * time.Minute

// compareDescriptor is the service of the comparison. Its order is shaped like a real one:
// ids and SKUs with patterns, currency and status enums, a date-time, an email, bounded
// quantities, amounts and lengths, nested objects and arrays.
const compareDescriptor = `{
  "service": "shop",
  "version": "1.0.0",
  "description": "Order intake of the comparison benchmarks.",
  "channels": {"rpc": "tcp+msgpack", "web": "http+json"},
  "$defs": {
    "ID": {"type": "string", "pattern": "^[a-z]{1,4}_[0-9A-Za-z]{6,32}$"},
    "Currency": {"type": "string", "enum": ["EUR", "USD", "GBP", "CHF", "JPY"]},
    "Money": {
      "type": "object", "required": ["amount", "currency"], "additionalProperties": false,
      "properties": {
        "amount": {"type": "number", "minimum": 0, "maximum": 1000000000},
        "currency": {"$ref": "#/$defs/Currency"}
      }
    },
    "Customer": {
      "type": "object", "required": ["id", "email"], "additionalProperties": false,
      "properties": {
        "id": {"$ref": "#/$defs/ID"},
        "email": {"type": "string", "format": "email", "maxLength": 254},
        "name": {"type": "string", "maxLength": 200}
      }
    },
    "Address": {
      "type": "object", "required": ["street", "city", "postalCode", "country"], "additionalProperties": false,
      "properties": {
        "street": {"type": "string", "minLength": 1, "maxLength": 200},
        "city": {"type": "string", "minLength": 1, "maxLength": 100},
        "postalCode": {"type": "string", "pattern": "^[A-Z0-9 -]{2,12}$"},
        "country": {"type": "string", "pattern": "^[A-Z]{2}$"}
      }
    },
    "Line": {
      "type": "object", "required": ["sku", "quantity", "unitPrice"], "additionalProperties": false,
      "properties": {
        "sku": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{4,8}$"},
        "title": {"type": "string", "maxLength": 120},
        "quantity": {"type": "integer", "minimum": 1, "maximum": 10000},
        "unitPrice": {"$ref": "#/$defs/Money"}
      }
    },
    "Order": {
      "type": "object", "required": ["id", "customer", "currency", "placedAt", "status", "lines"], "additionalProperties": false,
      "properties": {
        "id": {"$ref": "#/$defs/ID"},
        "customer": {"$ref": "#/$defs/Customer"},
        "currency": {"$ref": "#/$defs/Currency"},
        "placedAt": {"type": "string", "format": "date-time"},
        "status": {"enum": ["new", "submitted", "paid", "shipped", "cancelled"]},
        "shipTo": {"$ref": "#/$defs/Address"},
        "lines": {"type": "array", "minItems": 1, "maxItems": 500, "items": {"$ref": "#/$defs/Line"}},
        "note": {"type": "string", "maxLength": 2000}
      }
    },
    "Receipt": {
      "type": "object", "required": ["orderId", "status", "acceptedAt"], "additionalProperties": false,
      "properties": {
        "orderId": {"$ref": "#/$defs/ID"},
        "status": {"enum": ["accepted", "rejected"]},
        "acceptedAt": {"type": "string", "format": "date-time"}
      }
    },
    "OrderRef": {
      "type": "object", "required": ["id"], "additionalProperties": false,
      "properties": {"id": {"$ref": "#/$defs/ID"}}
    }
  },
  "methods": {
    "create": {"mode": "response", "channel": "rpc", "request": {"$ref": "#/$defs/Order"}, "response": {"$ref": "#/$defs/Receipt"}},
    "lines": {"mode": "stream", "channel": "rpc", "request": {"$ref": "#/$defs/OrderRef"}, "response": {"$ref": "#/$defs/Line"}},
    "place": {"mode": "noResponse", "channel": "rpc", "request": {"$ref": "#/$defs/Order"}}
  }
}`

// The Go side of compareDescriptor. Money is also used by discovery_test.go.
type Money struct {
	Amount   float64 `json:"amount"`
	Currency string  `json:"currency"`
}

type ShopCustomer struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name,omitempty"`
}

type Address struct {
	Street     string `json:"street"`
	City       string `json:"city"`
	PostalCode string `json:"postalCode"`
	Country    string `json:"country"`
}

type ShopLine struct {
	SKU       string `json:"sku"`
	Title     string `json:"title,omitempty"`
	Quantity  int    `json:"quantity"`
	UnitPrice Money  `json:"unitPrice"`
}

type ShopOrder struct {
	ID       string       `json:"id"`
	Customer ShopCustomer `json:"customer"`
	Currency string       `json:"currency"`
	PlacedAt string       `json:"placedAt"`
	Status   string       `json:"status"`
	ShipTo   *Address     `json:"shipTo,omitempty"`
	Lines    []ShopLine   `json:"lines"`
	Note     string       `json:"note,omitempty"`
}

type ShopReceipt struct {
	OrderID    string `json:"orderId"`
	Status     string `json:"status"`
	AcceptedAt string `json:"acceptedAt"`
}

type OrderRef struct {
	ID string `json:"id"`
}

const acceptedAt = "2026-03-14T09:26:53.589Z"

// shopOrder returns an order of the given number of lines: 1 line is about 250 bytes of
// JSON, 31 lines (with titles, an address and a note) about 4 KB.
func shopOrder(lines int) *ShopOrder {
	o := &ShopOrder{
		ID:       "ord_7Hq2kLp9Xw",
		Customer: ShopCustomer{ID: "cus_A81x0q", Email: "ada@example.com", Name: "Ada Lovelace"},
		Currency: "EUR",
		PlacedAt: "2026-03-14T09:26:53.589+01:00",
		Status:   "new",
	}
	for i := 0; i < lines; i++ {
		o.Lines = append(o.Lines, ShopLine{
			SKU:       fmt.Sprintf("ABC-%04d", 1000+i),
			Quantity:  i%9 + 1,
			UnitPrice: Money{Amount: 19.99, Currency: "EUR"},
		})
	}
	if lines > 1 {
		for i := range o.Lines {
			o.Lines[i].Title = "Stainless steel widget, 40 mm"
		}
		o.ShipTo = &Address{Street: "12 Analytical Row", City: "London", PostalCode: "NW1 6XE", Country: "GB"}
		o.Note = "Leave at the reception desk if nobody answers."
	}
	return o
}

var (
	smallOrder = shopOrder(1)
	largeOrder = shopOrder(31)
	orderRef   = &OrderRef{ID: "ord_7Hq2kLp9Xw"}
)

func orderOfSize(size string) *ShopOrder {
	if size == "large" {
		return largeOrder
	}
	return smallOrder
}

func receiptFor(o *ShopOrder) ShopReceipt {
	return ShopReceipt{OrderID: o.ID, Status: "accepted", AcceptedAt: acceptedAt}
}

// streamLine is item i of every stream; all items are valid Lines.
func streamLine(i int) ShopLine {
	return ShopLine{SKU: "XYZ-4711", Quantity: i%10000 + 1, UnitPrice: Money{Amount: 4.5, Currency: "EUR"}}
}

func compareSchemas(tb testing.TB) *schema.Set {
	tb.Helper()
	set, err := schema.LoadFS(fstest.MapFS{"shop.json": {Data: []byte(compareDescriptor)}})
	if err != nil {
		tb.Fatal(err)
	}
	return set
}

// system is one side of a scenario; the fields a scenario does not use may be nil.
type system struct {
	call   func(ctx context.Context, o *ShopOrder) error
	stream func(ctx context.Context) (int, error)
	send   func(ctx context.Context, o *ShopOrder) error
	// flush, when set, runs after the last send and counts in the send time.
	flush func() error
	// arrived counts one-way messages on the receiving side.
	arrived *arrivals
}

// startJesus serves the shop methods on spec; validated turns on validation at both ends
// (the server checks requests and what it sends, the client what it sends and receives).
func startJesus(b *testing.B, spec string, validated bool) system {
	b.Helper()
	var srvOpts, cliOpts []jesus.Option
	if validated {
		set := compareSchemas(b)
		srvOpts = append(srvOpts, jesus.WithValidation(jesus.ServiceSchemas(set, "shop", "1.0.0")))
		cliOpts = append(cliOpts, jesus.WithValidation(jesus.ReceiverSchemas(set)))
	}
	arr := newArrivals()
	s := jesus.NewServer("shop", srvOpts...)
	jesus.Handle(s, "create", func(ctx context.Context, o ShopOrder) (ShopReceipt, error) {
		return receiptFor(&o), nil
	})
	jesus.HandleStream(s, "lines", func(ctx context.Context, r OrderRef, send func(ShopLine) error) error {
		for i := 0; i < streamItems; i++ {
			if err := send(streamLine(i)); err != nil {
				return err
			}
		}
		return nil
	})
	jesus.HandleOneWay(s, "place", func(ctx context.Context, o ShopOrder) error {
		arr.add()
		return nil
	})
	bound, err := s.Listen(context.Background(), spec)
	if err != nil {
		b.Fatal(err)
	}
	c := jesus.NewClient("bench", append([]jesus.Option{jesus.WithTarget(bound.String())}, cliOpts...)...)
	b.Cleanup(func() { c.Close(); s.Close() })
	return system{
		call: func(ctx context.Context, o *ShopOrder) error {
			_, err := jesus.Call[*ShopOrder, ShopReceipt](ctx, c, "shop.create", o)
			return err
		},
		stream: func(ctx context.Context) (int, error) {
			n := 0
			for _, err := range jesus.Stream[*OrderRef, ShopLine](ctx, c, "shop.lines", orderRef) {
				if err != nil {
					return n, err
				}
				n++
			}
			return n, nil
		},
		send: func(ctx context.Context, o *ShopOrder) error {
			return jesus.Send(ctx, c, "shop.place", o)
		},
		arrived: arr,
	}
}

// result is one benchmark's figures, kept for the table printed after the run.
type result struct {
	rate     float64 // operations (calls, stream items, messages sent) per second
	p50, p99 time.Duration
	// cpu is the process's CPU time (user + system, both ends and the peer alike) per
	// unit of rate: unlike the rate, it barely moves when other work shares the machine.
	cpu time.Duration
	// one-way only: messages sent without error, received by the server, and the rate of
	// arrival (received ÷ time from the first send to the last arrival).
	sent, received int64
	sendErrs       int64
	delivered      float64
}

var (
	resultsMu sync.Mutex
	results   = map[string]map[string]result{} // scenario -> system -> result
)

// record keeps r; a later run of the same benchmark (a larger b.N) replaces an earlier one.
func record(scenario, sys string, r result) {
	resultsMu.Lock()
	defer resultsMu.Unlock()
	if results[scenario] == nil {
		results[scenario] = map[string]result{}
	}
	results[scenario][sys] = r
}

func lookup(scenario, sys string) (result, bool) {
	resultsMu.Lock()
	defer resultsMu.Unlock()
	r, ok := results[scenario][sys]
	return r, ok
}

// runLoad performs b.N operations with conc goroutines and reports the rate (perOp units
// per operation, e.g. the items of a stream), p50 and p99 of the operations' latency.
func runLoad(b *testing.B, scenario, sys, unit string, perOp, conc int, op func(ctx context.Context) error) {
	b.ReportAllocs()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	// warm up connections outside the timer
	for i := 0; i < conc; i++ {
		if err := op(ctx); err != nil {
			b.Fatal(err)
		}
	}
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var firstErr atomic.Value
	start, cpu0 := timedWorkers(b, conc, func() {
		for {
			i := next.Add(1) - 1
			if i >= int64(b.N) {
				return
			}
			t0 := time.Now()
			if err := op(ctx); err != nil {
				firstErr.CompareAndSwap(nil, err)
				return
			}
			lat[i] = time.Since(t0)
		}
	})
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	if err, _ := firstErr.Load().(error); err != nil {
		b.Fatal(err)
	}
	slices.Sort(lat)
	r := result{
		rate: float64(b.N*perOp) / elapsed.Seconds(),
		p50:  lat[len(lat)/2],
		p99:  lat[len(lat)*99/100],
		cpu:  cpu / time.Duration(b.N*perOp),
	}
	b.ReportMetric(r.rate, unit+"/s")
	b.ReportMetric(float64(r.cpu.Nanoseconds()), "cpu-ns/"+unit)
	b.ReportMetric(float64(r.p50.Microseconds()), "p50-µs")
	b.ReportMetric(float64(r.p99.Microseconds()), "p99-µs")
	record(scenario, sys, r)
}

// timedWorkers resets the timer and runs work in conc goroutines until all of them have
// returned. It returns when they started, and the process's CPU time then.
func timedWorkers(b *testing.B, conc int, work func()) (start time.Time, cpu0 time.Duration) {
	var wg sync.WaitGroup
	b.ResetTimer()
	start, cpu0 = time.Now(), cpuTime()
	for range conc {
		wg.Go(work)
	}
	wg.Wait()
	return start, cpu0
}

// arrivals counts one-way messages where they are handled.
type arrivals struct {
	n    atomic.Int64
	last atomic.Int64 // time of the latest arrival, unix ns
	tick chan struct{}
}

func newArrivals() *arrivals { return &arrivals{tick: make(chan struct{}, 1)} }

func (a *arrivals) add() {
	a.n.Add(1)
	a.last.Store(time.Now().UnixNano())
	select {
	case a.tick <- struct{}{}:
	default:
	}
}

// waitFor waits until want messages have arrived, until none has arrived for idle, or
// until limit has passed, and returns the count.
func (a *arrivals) waitFor(want int64, idle, limit time.Duration) int64 {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	quiet := time.NewTimer(idle)
	defer quiet.Stop()
	for {
		if n := a.n.Load(); n >= want {
			return n
		}
		select {
		case <-a.tick:
			quiet.Reset(idle)
		case <-quiet.C:
			return a.n.Load()
		case <-deadline.C:
			return a.n.Load()
		}
	}
}

// runOneWay sends b.N messages from conc goroutines, then waits (bounded) until the
// receiver has counted all of them. A loss fails nothing: it is recorded and printed.
func runOneWay(b *testing.B, scenario, sys string, conc int, s system, o *ShopOrder) {
	b.ReportAllocs()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	// warm up the connection outside the timer: one message, wait for it
	if err := s.send(ctx, o); err != nil {
		b.Fatal(err)
	}
	if s.flush != nil {
		if err := s.flush(); err != nil {
			b.Fatal(err)
		}
	}
	base := s.arrived.waitFor(1, 5*time.Second, 5*time.Second)
	if base != 1 {
		b.Fatalf("%s: the warm-up message did not arrive", sys)
	}
	var next, errs atomic.Int64
	var firstErr atomic.Value
	start, cpu0 := timedWorkers(b, conc, func() {
		for next.Add(1) <= int64(b.N) {
			if err := s.send(ctx, o); err != nil {
				errs.Add(1)
				firstErr.CompareAndSwap(nil, err)
			}
		}
	})
	if s.flush != nil {
		if err := s.flush(); err != nil {
			b.Fatal(err)
		}
	}
	sendElapsed := time.Since(start)
	b.StopTimer()
	sent := int64(b.N) - errs.Load()
	got := s.arrived.waitFor(base+sent, time.Second, 10*time.Second+sendElapsed) - base
	cpu := cpuTime() - cpu0
	r := result{rate: float64(sent) / sendElapsed.Seconds(), sent: sent, received: got, sendErrs: errs.Load()}
	if got > 0 {
		r.cpu = cpu / time.Duration(got)
	}
	if got > 0 {
		r.delivered = float64(got) / time.Unix(0, s.arrived.last.Load()).Sub(start).Seconds()
	}
	b.ReportMetric(r.rate, "sent/s")
	b.ReportMetric(r.delivered, "received/s")
	b.ReportMetric(float64(sent-got), "lost")
	if err, _ := firstErr.Load().(error); err != nil {
		b.Logf("%s: %d sends failed, the first with: %v", sys, errs.Load(), err)
	}
	if got != sent {
		b.Logf("%s: received %d of %d messages sent", sys, got, sent)
	}
	record(scenario, sys, r)
}

// streamOp reads one whole stream and checks its length.
func streamOp(s system) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		n, err := s.stream(ctx)
		if err == nil && n != streamItems {
			err = fmt.Errorf("stream yielded %d items, want %d", n, streamItems)
		}
		return err
	}
}

// contender is a system under a name, started fresh for each benchmark run.
type contender struct {
	name  string
	start func(b *testing.B) system
}

func jesusTCP(validated bool) func(b *testing.B) system {
	return func(b *testing.B) system { return startJesus(b, "tcp+msgpack://127.0.0.1:0", validated) }
}

const (
	sysJesus     = "jesus-tcp+msgpack"
	sysJesusHTTP = "jesus-http+json"
	sysGRPC      = "grpc-json"
	sysNATS      = "nats"
	sysHTTP      = "net/http+json"
	sysTCPEcho   = "raw-tcp-echo"
)

// BenchmarkCompareCall: request/response with an order against a receipt.
func BenchmarkCompareCall(b *testing.B) {
	for _, sc := range []struct {
		size  string
		conc  int
		peers []contender
	}{
		{"small", 64, []contender{{sysGRPC, startGRPC}, {sysNATS, startNATS}}},
		{"large", 64, []contender{{sysGRPC, startGRPC}, {sysNATS, startNATS}}},
		{"small", 1, []contender{{sysTCPEcho, startTCPEcho}}},
	} {
		scenario := fmt.Sprintf("call/%s/c%d", sc.size, sc.conc)
		for _, sys := range append([]contender{{sysJesus, jesusTCP(true)}}, sc.peers...) {
			b.Run(scenario+"/"+sys.name, func(b *testing.B) {
				leakCheck(b)
				s := sys.start(b)
				o := orderOfSize(sc.size)
				runLoad(b, scenario, sys.name, "calls", 1, sc.conc, func(ctx context.Context) error { return s.call(ctx, o) })
			})
		}
	}
}

// BenchmarkCompareStream: a server stream of streamItems small items, every one validated
// by jesus.
func BenchmarkCompareStream(b *testing.B) {
	for _, conc := range []int{1, 64} {
		scenario := fmt.Sprintf("stream/small/c%d", conc)
		for _, sys := range []contender{{sysJesus, jesusTCP(true)}, {sysGRPC, startGRPC}} {
			b.Run(scenario+"/"+sys.name, func(b *testing.B) {
				leakCheck(b)
				s := sys.start(b)
				runLoad(b, scenario, sys.name, "items", streamItems, conc, streamOp(s))
			})
		}
	}
}

// BenchmarkCompareOneWay: noResponse messages from 64 senders, counted by the receiver.
func BenchmarkCompareOneWay(b *testing.B) {
	scenario := "oneway/small/c64"
	for _, sys := range []contender{{sysJesus, jesusTCP(true)}, {sysNATS, startNATS}} {
		b.Run(scenario+"/"+sys.name, func(b *testing.B) {
			leakCheck(b)
			runOneWay(b, scenario, sys.name, 64, sys.start(b), smallOrder)
		})
	}
}

// BenchmarkCompareHTTP: jesus over http+json, validated at both ends, against a plain
// net/http server and client with encoding/json and no validation.
func BenchmarkCompareHTTP(b *testing.B) {
	for _, size := range []string{"small", "large"} {
		for _, conc := range []int{1, 64} {
			scenario := fmt.Sprintf("http/%s/c%d", size, conc)
			for _, sys := range []contender{
				{sysJesusHTTP, func(b *testing.B) system { return startJesus(b, "http+json://127.0.0.1:0", true) }},
				{sysHTTP, startNetHTTP},
			} {
				b.Run(scenario+"/"+sys.name, func(b *testing.B) {
					leakCheck(b)
					s := sys.start(b)
					o := orderOfSize(size)
					runLoad(b, scenario, sys.name, "calls", 1, conc, func(ctx context.Context) error { return s.call(ctx, o) })
				})
			}
		}
	}
}

// BenchmarkValidation: what validation at both ends costs jesus over tcp+msgpack.
func BenchmarkValidation(b *testing.B) {
	for _, sc := range []string{"call/small/c64", "call/large/c64", "stream/small/c64"} {
		scenario := "validation/" + sc
		for _, on := range []bool{false, true} {
			name := "off"
			if on {
				name = "on-both-ends"
			}
			b.Run(scenario+"/"+name, func(b *testing.B) {
				leakCheck(b)
				s := startJesus(b, "tcp+msgpack://127.0.0.1:0", on)
				switch sc {
				case "call/small/c64", "call/large/c64":
					o := orderOfSize(strings.Split(sc, "/")[1])
					runLoad(b, scenario, name, "calls", 1, 64, func(ctx context.Context) error { return s.call(ctx, o) })
				default:
					runLoad(b, scenario, name, "items", streamItems, 64, streamOp(s))
				}
			})
		}
	}
}

// target is one line of the table: jesus in a scenario against a peer.
type target struct {
	scenario, jesus, peer string
	what                  string  // "rate" (higher is better) or "p50" (lower is better)
	unit                  string  // of the rate
	want                  float64 // ratio jesus ÷ peer to reach (rate: at least; p50: at most)
}

var targets = []target{
	{"call/small/c64", sysJesus, sysNATS, "rate", "calls/s", 1.3},
	{"call/small/c64", sysJesus, sysGRPC, "rate", "calls/s", 2.5},
	{"call/large/c64", sysJesus, sysNATS, "rate", "calls/s", 1.5},
	{"call/large/c64", sysJesus, sysGRPC, "rate", "calls/s", 2},
	{"call/small/c1", sysJesus, sysTCPEcho, "p50", "", 1.1},
	{"stream/small/c1", sysJesus, sysGRPC, "rate", "items/s", 2},
	{"stream/small/c64", sysJesus, sysGRPC, "rate", "items/s", 2},
	{"oneway/small/c64", sysJesus, sysNATS, "rate", "sent/s", 1},
	{"validation/call/small/c64", "on-both-ends", "off", "rate", "calls/s", 0.85},
	{"validation/call/large/c64", "on-both-ends", "off", "rate", "calls/s", 0.85},
	{"validation/stream/small/c64", "on-both-ends", "off", "rate", "items/s", 0.85},
	{"http/small/c1", sysJesusHTTP, sysHTTP, "rate", "calls/s", 1},
	{"http/small/c64", sysJesusHTTP, sysHTTP, "rate", "calls/s", 1},
	{"http/large/c1", sysJesusHTTP, sysHTTP, "rate", "calls/s", 1},
	{"http/large/c64", sysJesusHTTP, sysHTTP, "rate", "calls/s", 1},
}

func figure(r result, t target) string {
	if t.what == "p50" {
		return fmt.Sprintf("p50 %v", r.p50.Round(100*time.Nanosecond))
	}
	switch {
	case r.rate >= 1e6:
		return fmt.Sprintf("%.2fM %s", r.rate/1e6, t.unit)
	case r.rate >= 1e3:
		return fmt.Sprintf("%.1fk %s", r.rate/1e3, t.unit)
	}
	return fmt.Sprintf("%.0f %s", r.rate, t.unit)
}

// printComparison writes the table of targets for which both figures were measured, and
// the one-way counts: a message lost shows here, and misses its target.
func printComparison(w io.Writer) {
	type line struct{ scenario, vs, j, p, ratio, cpu, want, verdict string }
	var lines []line
	var notes []string
	for _, t := range targets {
		j, okJ := lookup(t.scenario, t.jesus)
		p, okP := lookup(t.scenario, t.peer)
		if !okJ || !okP {
			continue
		}
		var ratio float64
		var want string
		met := false
		cpuRatio := "-"
		if t.what != "p50" && j.cpu > 0 && p.cpu > 0 {
			cpuRatio = fmt.Sprintf("%.2f×", float64(p.cpu)/float64(j.cpu))
		}
		if t.what == "p50" {
			ratio = float64(j.p50) / float64(p.p50)
			want, met = fmt.Sprintf("≤%.2g×", t.want), ratio <= t.want
		} else {
			ratio = j.rate / p.rate
			want, met = fmt.Sprintf("≥%.2g×", t.want), ratio >= t.want
		}
		if strings.HasPrefix(t.scenario, "oneway/") {
			for _, x := range []struct {
				name string
				r    result
			}{{t.jesus, j}, {t.peer, p}} {
				note := fmt.Sprintf("%s %s: received %d of %d sent (%d lost, %d send errors), %.1fk received/s",
					t.scenario, x.name, x.r.received, x.r.sent, x.r.sent-x.r.received, x.r.sendErrs, x.r.delivered/1e3)
				notes = append(notes, note)
			}
			// the rate counts only if every message sent arrived
			met = met && j.received == j.sent
		}
		verdict := "missed"
		if met {
			verdict = "met"
		}
		lines = append(lines, line{t.scenario, t.jesus + " vs " + t.peer, figure(j, t), figure(p, t), fmt.Sprintf("%.2f×", ratio), cpuRatio, want, verdict})
	}
	if len(lines) == 0 {
		return
	}
	fmt.Fprintln(w, "\njesus against its peers, same process, same run (ratio: jesus ÷ peer; p50: lower is better;")
	fmt.Fprintln(w, "cpu: the peer's CPU time per unit ÷ jesus's, higher is better, steadier than the rate on a busy machine)")
	format := "%-28s %-36s %-18s %-18s %7s %7s %6s  %s\n"
	fmt.Fprintf(w, format, "scenario", "systems", "jesus", "peer", "ratio", "cpu", "target", "")
	for _, l := range lines {
		fmt.Fprintf(w, format, l.scenario, l.vs, l.j, l.p, l.ratio, l.cpu, l.want, l.verdict)
	}
	for _, n := range notes {
		fmt.Fprintln(w, n)
	}
	fmt.Fprintln(w, strings.Repeat("-", 128))
}

// cpuTime is the CPU time the process has used so far, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestMain(m *testing.M) {
	code := m.Run()
	printComparison(os.Stdout)
	os.Exit(code)
}

// TestCompareSetup checks what the comparison relies on: payload sizes, orders that pass
// the schema, and validation that refuses a bad order at either end.
func TestCompareSetup(t *testing.T) {
	leakCheck(t)
	for _, c := range []struct {
		o        *ShopOrder
		min, max int
	}{{smallOrder, 200, 300}, {largeOrder, 3800, 4400}} {
		data, err := json.Marshal(c.o)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("order of %d lines: %d bytes of JSON", len(c.o.Lines), len(data))
		if len(data) < c.min || len(data) > c.max {
			t.Errorf("order of %d lines is %d bytes of JSON, want %d..%d", len(c.o.Lines), len(data), c.min, c.max)
		}
	}
	set := compareSchemas(t)
	bad := *smallOrder
	bad.Lines = []ShopLine{{SKU: "abc-1", Quantity: 0, UnitPrice: Money{Amount: 1, Currency: "XXX"}}}
	for _, spec := range []string{"tcp+msgpack://127.0.0.1:0", "http+json://127.0.0.1:0"} {
		s := jesus.NewServer("shop", jesus.WithValidation(jesus.ServiceSchemas(set, "shop", "1.0.0")))
		jesus.Handle(s, "create", func(ctx context.Context, o ShopOrder) (ShopReceipt, error) { return receiptFor(&o), nil })
		bound, err := s.Listen(ctxT(t), spec)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		validating := jesus.NewClient("validating", jesus.WithTarget(bound.String()), jesus.WithValidation(jesus.ReceiverSchemas(set)))
		t.Cleanup(func() { validating.Close() })
		for _, o := range []*ShopOrder{smallOrder, largeOrder} {
			if _, err := jesus.Call[*ShopOrder, ShopReceipt](ctxT(t), validating, "shop.create", o); err != nil {
				t.Errorf("%s: valid order: %v", spec, err)
			}
		}
		if _, err := jesus.Call[*ShopOrder, ShopReceipt](ctxT(t), validating, "shop.create", &bad); jesus.CodeOf(err) != jesus.CodeInvalidArgument {
			t.Errorf("%s: bad order refused by the client with %v, want invalid_argument", spec, err)
		}
		plain := jesus.NewClient("plain", jesus.WithTarget(bound.String()))
		t.Cleanup(func() { plain.Close() })
		_, err = jesus.Call[*ShopOrder, ShopReceipt](ctxT(t), plain, "shop.create", &bad)
		if e := jesus.AsError(err); e == nil || e.Code != jesus.CodeInvalidArgument || !e.Remote {
			t.Errorf("%s: bad order refused by the server with %v, want a remote invalid_argument", spec, err)
		}
	}
}
