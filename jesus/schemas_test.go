package jesus_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/schema"
)

type obj = map[string]any

func loadSchemas(t testing.TB) *schema.Set {
	t.Helper()
	set, err := schema.LoadDir(filepath.Join("..", "schemas"))
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func goodOrder() obj {
	return obj{
		"customer": obj{"id": "c-1", "email": "ada@example.com"},
		"currency": "EUR",
		"lines":    []any{obj{"sku": "ABC-1234", "quantity": 2, "unitPrice": obj{"amount": 9.99, "currency": "EUR"}}},
	}
}

// validatedOrders starts an orders server that validates against its descriptor; its
// create handler returns whatever reply says, and watch streams items.
func validatedOrders(t *testing.T, set *schema.Set, spec string, reply obj, items []obj, ran chan<- string) string {
	t.Helper()
	d := set.Service("orders")
	s := jesus.NewServer("orders", jesus.WithValidation(jesus.ServiceSchemas(set, d.Service, d.Version)))
	jesus.Handle(s, "create", func(ctx context.Context, o obj) (obj, error) {
		ran <- "create"
		return reply, nil
	})
	jesus.HandleOneWay(s, "submit", func(ctx context.Context, o obj) error {
		ran <- "submit"
		return nil
	})
	jesus.HandleStream(s, "watch", func(ctx context.Context, o obj, send func(obj) error) error {
		for _, it := range items {
			if err := send(it); err != nil {
				return err
			}
		}
		return nil
	})
	bound, err := s.Listen(ctxT(t), spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return bound.String()
}

func wantFailures(t *testing.T, err error, code jesus.Code, remote bool, pointers ...string) {
	t.Helper()
	var je *jesus.Error
	if !errors.As(err, &je) {
		t.Fatalf("want *jesus.Error, got %v", err)
	}
	if je.Code != code || je.Remote != remote {
		t.Fatalf("want code %s remote %v, got %s remote %v: %v", code, remote, je.Code, je.Remote, err)
	}
	if !strings.HasPrefix(je.Service, "orders@") {
		t.Fatalf("error does not name service@version: %q (%v)", je.Service, err)
	}
	got := map[string]bool{}
	for _, f := range je.Failures {
		got[f.Pointer] = true
		if f.Keyword == "" || f.Message == "" {
			t.Fatalf("failure without keyword or message: %+v", f)
		}
	}
	for _, p := range pointers {
		if !got[p] {
			t.Fatalf("failure at %q missing from %v", p, err)
		}
	}
	t.Logf("refused as expected: %v", err)
}

func TestValidationOnEveryPath(t *testing.T) {
	leakCheck(t)
	set := loadSchemas(t)
	for _, spec := range []string{"tcp+msgpack+zstd://127.0.0.1:0", "http+json+gzip://127.0.0.1:0"} {
		t.Run(strings.Split(spec, ":")[0], func(t *testing.T) {
			ran := make(chan string, 8)
			badItems := []obj{{"id": "o-1", "status": "paid"}, {"id": "o-1", "status": "lost"}}
			addr := validatedOrders(t, set, spec, obj{"id": "o-1", "extra": true}, badItems, ran)
			ctx := ctxT(t)
			bad := goodOrder()
			delete(bad["customer"].(obj), "email")
			bad["lines"].([]any)[0].(obj)["quantity"] = 0

			// 1. the client validates against the receiver's schema before sending
			checked := jesus.NewClient("t", jesus.WithTarget(addr), jesus.WithValidation(jesus.ReceiverSchemas(set)))
			defer checked.Close()
			_, err := jesus.Call[obj, obj](ctx, checked, "orders.create", bad)
			wantFailures(t, err, jesus.CodeInvalidArgument, false, "/customer/email", "/lines/0/quantity")

			// 2. the server validates what it receives (from a client that does not)
			raw := jesus.NewClient("t", jesus.WithTarget(addr))
			defer raw.Close()
			_, err = jesus.Call[obj, obj](ctx, raw, "orders.create", bad)
			wantFailures(t, err, jesus.CodeInvalidArgument, true, "/customer/email", "/lines/0/quantity")

			// 3. ack mode: an invalid request gets an error, not an ack, and no handler runs
			err = jesus.Ack(ctx, raw, "orders.submit", obj{"id": "has spaces"})
			wantFailures(t, err, jesus.CodeInvalidArgument, true, "/id")
			if err := jesus.Ack(ctx, raw, "orders.submit", obj{"id": "o-1"}); err != nil {
				t.Fatal(err)
			}
			if got := <-ran; got != "submit" {
				t.Fatalf("ran %q", got)
			}

			// 4. the server validates the response it returns: a bug of the server, internal
			_, err = jesus.Call[obj, obj](ctx, raw, "orders.create", goodOrder())
			if got := <-ran; got != "create" {
				t.Fatalf("ran %q", got)
			}
			wantFailures(t, err, jesus.CodeInternal, true, "")

			// 5. stream items: the second item fails, the stream ends with that error
			n := 0
			var streamErr error
			for _, err := range jesus.Stream[obj, obj](ctx, raw, "orders.watch", obj{"id": "o-1"}) {
				if err != nil {
					streamErr = err
					break
				}
				n++
			}
			if n != 1 {
				t.Fatalf("%d valid items before the failure, want 1", n)
			}
			wantFailures(t, streamErr, jesus.CodeInternal, true, "/status")
			select {
			case r := <-ran:
				t.Fatalf("unexpected handler run %q", r)
			default:
			}
		})
	}
}
