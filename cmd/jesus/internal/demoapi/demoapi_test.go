package demoapi_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/cmd/jesus/internal/demoapi"
	"github.com/jesus-go/jesus/codec"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/gogen"
)

// source is the descriptors' directory, as the go:generate line of doc.go names it.
const source = "../../../../schemas"

func loadSet(t *testing.T) *schema.Set {
	t.Helper()
	set, err := schema.LoadDir(source)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// TestUpToDate fails when the descriptors changed and go generate was not run.
func TestUpToDate(t *testing.T) {
	files, err := gogen.Generate(loadSet(t), gogen.Options{Package: "demoapi", Source: source})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		got, err := os.ReadFile(name)
		if err != nil || string(got) != string(want) {
			t.Errorf("%s is not what jesus gen go writes now: run go generate ./cmd/jesus/internal/demoapi", name)
		}
	}
	have, _ := filepath.Glob("*.jesus.go")
	for _, name := range have {
		if _, ok := files[name]; !ok {
			t.Errorf("%s is no longer generated: run go generate ./cmd/jesus/internal/demoapi", name)
		}
	}
}

// examples are messages valid against their schemas, with the generated type of each.
var examples = []struct {
	service string
	part    schema.Part
	name    string
	typ     any
	json    string
}{
	{"orders", schema.PartRequest, "create", demoapi.Order{}, `{"customer":{"id":"c-1","email":"ada@example.com","name":"Ada"},"currency":"EUR","lines":[{"sku":"ABC-1234","quantity":2,"unitPrice":{"amount":9.99,"currency":"EUR"},"tags":["a","b"]}],"shipTo":{"street":"Main St 1","city":"Zurich","postalCode":"8000","country":"CH"},"note":""}`},
	{"orders", schema.PartResponse, "create", demoapi.OrderRef{}, `{"id":"o-1"}`},
	{"orders", schema.PartResponse, "get", demoapi.Order{}, `{"id":"o-1","customer":{"id":"c-1","email":"ada@example.com"},"currency":"JPY","lines":[{"sku":"XYZ-00001","quantity":10000,"unitPrice":{"amount":0,"currency":"JPY"}}],"status":"paid"}`},
	{"orders", schema.PartResponse, "watch", demoapi.OrdersWatchItem{}, `{"id":"o-1","status":"shipped"}`},
	{"orders", schema.PartEventPayload, "order.created", demoapi.OrderEvent{}, `{"orderId":"o-1","customerId":"c-1","total":{"amount":1234.56,"currency":"USD"},"at":"2026-01-02T03:04:05Z"}`},
	{"orders", schema.PartEventPayload, "log", demoapi.LogRecord{}, `{"level":"warn","msg":"slow","at":"2026-01-02T03:04:05.123Z","attrs":{"ms":250,"ok":false,"who":"x","none":null}}`},
	{"billing", schema.PartRequest, "charge", demoapi.ChargeRequest{}, `{"orderId":"o-1","customerId":"c-1","amount":{"amount":19.98,"currency":"EUR"},"idempotencyKey":"3b241101-e2bb-4255-8caf-4136c566a962"}`},
	{"billing", schema.PartResponse, "charge", demoapi.ChargeResponse{}, `{"chargeId":"ch-1","status":"declined","reason":"limit"}`},
	{"audit", schema.PartRequest, "tail", demoapi.AuditTailRequest{}, `{"kinds":["log","order.created"],"limit":1}`},
	{"audit", schema.PartRequest, "tail", demoapi.AuditTailRequest{}, `{}`},
	{"audit", schema.PartResponse, "tail", demoapi.Entry{}, `{"kind":"log","at":"2026-01-02T03:04:05Z","data":{"a":[1,2,{"b":null}]}}`},
	{"audit", schema.PartListenPayload, "order.created", demoapi.AuditOrderCreatedPayload{}, `{"orderId":"o-1"}`},
}

// TestRoundTrip decodes each example into its generated type and encodes it again, as
// JSON and as msgpack: what comes out is still valid against the schema.
func TestRoundTrip(t *testing.T) {
	set := loadSet(t)
	mp := codec.NewMsgpack(codec.DefaultLimits())
	for _, ex := range examples {
		t.Run(ex.service+"/"+ex.part.String()+"/"+ex.name, func(t *testing.T) {
			v, err := set.Validator(ex.service, "", ex.part, ex.name)
			if err != nil {
				t.Fatal(err)
			}
			if err := v.ValidateJSON([]byte(ex.json)); err != nil {
				t.Fatalf("the example itself is invalid: %v", err)
			}
			p := reflect.New(reflect.TypeOf(ex.typ))
			dec := json.NewDecoder(strings.NewReader(ex.json))
			dec.DisallowUnknownFields()
			if err := dec.Decode(p.Interface()); err != nil {
				t.Fatalf("decode into %T: %v", ex.typ, err)
			}
			js, err := json.Marshal(p.Interface())
			if err != nil {
				t.Fatal(err)
			}
			if err := v.ValidateJSON(js); err != nil {
				t.Errorf("JSON of %T is invalid: %v\n%s", ex.typ, err, js)
			}
			bin, err := mp.Marshal(nil, p.Elem().Interface())
			if err != nil {
				t.Fatal(err)
			}
			if err := v.ValidateMsgpack(bin); err != nil {
				t.Errorf("msgpack of %T is invalid: %v", ex.typ, err)
			}
			back := reflect.New(reflect.TypeOf(ex.typ))
			if err := mp.Unmarshal(bin, back.Interface()); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back.Elem().Interface(), p.Elem().Interface()) && !hasNumbers(ex.typ) {
				t.Errorf("msgpack round trip changed the value:\n%#v\n%#v", p.Elem().Interface(), back.Elem().Interface())
			}
		})
	}
}

// hasNumbers: maps of any hold float64 from JSON but int8... from msgpack; equality of
// such values is not the point of the test (validity is).
func hasNumbers(v any) bool {
	switch v.(type) {
	case demoapi.LogRecord, demoapi.Entry:
		return true
	}
	return false
}

// orders serves the generated OrdersHandler.
type orders struct{ touched chan demoapi.OrderRef }

func (o *orders) Create(ctx context.Context, req demoapi.Order) (demoapi.OrderRef, error) {
	return demoapi.OrderRef{ID: "o-" + req.Customer.ID}, nil
}

func (o *orders) Get(ctx context.Context, req demoapi.OrderRef) (demoapi.Order, error) {
	return demoapi.Order{ID: &req.ID, Currency: demoapi.CurrencyCHF, Customer: demoapi.Customer{ID: "c-1", Email: "a@example.com"},
		Lines: []demoapi.OrderLine{{Sku: "ABC-1234", Quantity: 1, UnitPrice: demoapi.Money{Amount: 5, Currency: demoapi.CurrencyCHF}}}}, nil
}

func (o *orders) Submit(ctx context.Context, req demoapi.OrderRef) error { return nil }

func (o *orders) Touch(ctx context.Context, req demoapi.OrderRef) error {
	o.touched <- req
	return nil
}

func (o *orders) Watch(ctx context.Context, req demoapi.OrderRef, send func(demoapi.OrdersWatchItem) error) error {
	for _, s := range []demoapi.OrderStatus{demoapi.OrderStatusNew, demoapi.OrderStatusPaid} {
		if err := send(demoapi.OrdersWatchItem{ID: req.ID, Status: s}); err != nil {
			return err
		}
	}
	return nil
}

// TestGeneratedClientAndServer runs the generated client against the generated handler,
// both validating against the schemas, on every channel kind orders declares.
func TestGeneratedClientAndServer(t *testing.T) {
	channeltest.CheckLeaks(t)
	set := loadSet(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h := &orders{touched: make(chan demoapi.OrderRef, 1)}
	srv := jesus.NewServer(demoapi.OrdersService, jesus.WithValidation(jesus.ServiceSchemas(set, "orders", "1.2.0")))
	demoapi.RegisterOrders(srv, h)
	defer srv.Close()
	for _, spec := range []string{"tcp+msgpack+zstd://127.0.0.1:0", "http+json+gzip://127.0.0.1:0"} {
		bound, err := srv.Listen(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		c := jesus.NewClient("test", jesus.WithTarget(bound.String()), jesus.WithValidation(jesus.ReceiverSchemas(set)))
		cl := demoapi.NewOrdersClient(c)
		ref, err := cl.Create(ctx, demoapi.Order{Currency: demoapi.CurrencyEUR, Customer: demoapi.Customer{ID: "c-9", Email: "b@example.com"},
			Lines: []demoapi.OrderLine{{Sku: "ABC-1234", Quantity: 3, UnitPrice: demoapi.Money{Amount: 1.5, Currency: demoapi.CurrencyEUR}}}})
		if err != nil || ref.ID != "o-c-9" {
			t.Fatalf("%s: Create = %+v, %v", spec, ref, err)
		}
		got, err := cl.Get(ctx, ref)
		if err != nil || got.ID == nil || *got.ID != "o-c-9" || got.Lines[0].UnitPrice.Currency != demoapi.CurrencyCHF {
			t.Fatalf("%s: Get = %+v, %v", spec, got, err)
		}
		var seen []demoapi.OrderStatus
		for it, err := range cl.Watch(ctx, ref) {
			if err != nil {
				t.Fatalf("%s: Watch: %v", spec, err)
			}
			seen = append(seen, it.Status)
		}
		if !reflect.DeepEqual(seen, []demoapi.OrderStatus{"new", "paid"}) {
			t.Fatalf("%s: Watch gave %v", spec, seen)
		}
		if err := cl.Submit(ctx, ref); err != nil {
			t.Fatalf("%s: Submit: %v", spec, err)
		}
		if err := cl.Touch(ctx, ref); err != nil {
			t.Fatalf("%s: Touch: %v", spec, err)
		}
		select {
		case r := <-h.touched:
			if r.ID != ref.ID {
				t.Fatalf("touched %q", r.ID)
			}
		case <-ctx.Done():
			t.Fatal("Touch never arrived")
		}
		// A request the schema refuses is refused before it leaves.
		if _, err := cl.Create(ctx, demoapi.Order{Currency: "XXX"}); jesus.CodeOf(err) != jesus.CodeInvalidArgument {
			t.Fatalf("%s: invalid Create: %v", spec, err)
		}
		c.Close()
	}
}
