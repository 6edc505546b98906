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
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jesus-go/jesus/codec"

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

// BenchmarkStageValidation: one message through the stage, each way, with and without its
// schema check: what validation costs a message of the comparison, apart from the load.
func BenchmarkStageValidation(b *testing.B) {
	set := compareSchemas(b)
	v := jesus.ServiceSchemas(set, "shop", "1.0.0").RequestValidator("shop.create")
	if v == nil {
		b.Fatal("no validator of shop.create")
	}
	pl, err := codec.NewRegistry(codec.DefaultLimits()).Pipeline("msgpack")
	if err != nil {
		b.Fatal(err)
	}
	for _, size := range []string{"small", "large"} {
		o := orderOfSize(size)
		data, err := jesus.Encode(pl, nil, nil, o)
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range []struct {
			name string
			val  jesus.Validator
		}{{"off", nil}, {"on", v}} {
			b.Run(size+"/send/"+c.name, func(b *testing.B) {
				b.ReportAllocs()
				buf := make([]byte, 0, 8192)
				for b.Loop() {
					if _, err := jesus.Encode(pl, c.val, buf[:0], o); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(size+"/receive/"+c.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					var got ShopOrder
					if err := jesus.Decode(pl, c.val, data, &got); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
