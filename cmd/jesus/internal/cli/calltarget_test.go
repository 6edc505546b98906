package cli_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/jesus-go/jesus/cmd/jesus/internal/cli"
	"github.com/jesus-go/jesus/cmd/jesus/internal/demoapi"
	"github.com/jesus-go/jesus/jesus"
)

// metaOrders serves orders through the generated interface and keeps the meta of the
// last request.
type metaOrders struct {
	mu   sync.Mutex
	last jesus.Meta
}

func (o *metaOrders) keep(ctx context.Context) {
	if m, ok := jesus.MsgFromContext(ctx); ok {
		o.mu.Lock()
		o.last = m.Meta
		o.mu.Unlock()
	}
}

func (o *metaOrders) meta() jesus.Meta {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.last
}

func (o *metaOrders) Create(ctx context.Context, req demoapi.Order) (demoapi.OrderRef, error) {
	o.keep(ctx)
	return demoapi.OrderRef{ID: "o-1"}, nil
}

func (o *metaOrders) Get(ctx context.Context, req demoapi.OrderRef) (demoapi.Order, error) {
	o.keep(ctx)
	return demoapi.Order{ID: &req.ID, Currency: demoapi.CurrencyEUR, Customer: demoapi.Customer{ID: "c-1", Email: "a@example.com"},
		Lines: []demoapi.OrderLine{{Sku: "ABC-1234", Quantity: 1, UnitPrice: demoapi.Money{Amount: 2, Currency: demoapi.CurrencyEUR}}}}, nil
}

func (o *metaOrders) Submit(ctx context.Context, req demoapi.OrderRef) error { o.keep(ctx); return nil }
func (o *metaOrders) Touch(ctx context.Context, req demoapi.OrderRef) error  { o.keep(ctx); return nil }

func (o *metaOrders) Watch(ctx context.Context, req demoapi.OrderRef, send func(demoapi.OrdersWatchItem) error) error {
	o.keep(ctx)
	for _, s := range []demoapi.OrderStatus{"new", "paid", "shipped"} {
		if err := send(demoapi.OrdersWatchItem{ID: req.ID, Status: s}); err != nil {
			return err
		}
	}
	return nil
}

// serveOrders starts an orders server on loopback without any registry.
func serveOrders(t *testing.T, spec string) (string, *metaOrders) {
	t.Helper()
	h := &metaOrders{}
	srv := jesus.NewServer("orders")
	demoapi.RegisterOrders(srv, h)
	bound, err := srv.Listen(ctxT(t), spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return bound.String(), h
}

func TestCallTarget(t *testing.T) {
	leakCheck(t)
	target, h := serveOrders(t, "tcp+msgpack+zstd://127.0.0.1:0")

	r := jesusCmd(t, "", "call", "orders.get", `{"id":"o-7"}`, "--target", target)
	r.want(t, cli.ExitOK, `"id":"o-7"`)

	// "-" reads stdin; -H sets the meta.
	r = jesusCmd(t, `{"id":"o-8"}`, "call", "orders.get", "-", "--target", target,
		"-H", "corrid=c-42", "-H", "userid=ada", "-H", "traceparent=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "-H", "tenant=acme")
	r.want(t, cli.ExitOK, `"id":"o-8"`)
	m := h.meta()
	if m.CorrID != "c-42" || m.UserID != "ada" || !strings.HasPrefix(m.Trace, "00-4bf92f") || m.Extra["tenant"] != "acme" || m.From != "jesus-cli" {
		t.Fatalf("meta at the server: %+v", m)
	}

	// Modes in any case; with --schemas the declared mode is used and checked.
	r = jesusCmd(t, "", "call", "orders.watch", `{"id":"o-1"}`, "--target", target, "--mode", "STREAM")
	r.want(t, cli.ExitOK, `"status":"new"`, `"status":"shipped"`)
	r = jesusCmd(t, "", "call", "orders.watch", `{"id":"o-1"}`, "--target", target, "--schemas", schemasDir)
	r.want(t, cli.ExitOK, `"status":"paid"`)
	jesusCmd(t, "", "call", "orders.submit", `{"id":"o-1"}`, "--target", target, "--mode", "Ack").wantErr(t, cli.ExitOK, "acknowledged")
	jesusCmd(t, "", "call", "orders.get", `{"id":"o 1"}`, "--target", target, "--schemas", schemasDir).
		wantErr(t, cli.ExitFailure, "call orders.get at "+strings.SplitN(target, "://", 2)[1], "invalid_argument", "/id")
	jesusCmd(t, "", "call", "orders.nope", `{}`, "--target", target, "--schemas", schemasDir).
		wantErr(t, cli.ExitFailure, `has no method "nope" (methods: create, get, submit, touch, watch)`)

	// Usage errors.
	jesusCmd(t, "", "call", "orders.get", `{}`, "--target", "127.0.0.1:1").wantErr(t, cli.ExitUsage, "--target")
	jesusCmd(t, "", "call", "orders.get", `{}`, "--target", target, "-H", "novalue").wantErr(t, cli.ExitUsage, `-H "novalue": want KEY=VALUE`)
	jesusCmd(t, "", "call", "orders.get", `{}`, "--target", target, "--mode", "sometimes").wantErr(t, cli.ExitUsage, `--mode "sometimes": want`)
}

// TestCallTargetDown: the error names the method and the address, once.
func TestCallTargetDown(t *testing.T) {
	leakCheck(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	r := jesusCmd(t, "", "call", "orders.get", `{"id":"o-1"}`, "--target", "tcp+msgpack://"+addr, "--timeout", "5s")
	r.wantErr(t, cli.ExitUnavailable, "jesus: call orders.get at "+addr+": unavailable")
	if strings.Count(r.stderr, "jesus:") != 1 || strings.Count(r.stderr, "\n") != 1 {
		t.Fatalf("error not printed once on one line: %q", r.stderr)
	}
}

func TestVersion(t *testing.T) {
	r := jesusCmd(t, "", "--version")
	r.want(t, cli.ExitOK, "jesus ")
	if strings.Count(r.stdout, "\n") != 1 || !strings.Contains(r.stdout, "go1.") {
		t.Fatalf("--version printed %q", r.stdout)
	}
}
