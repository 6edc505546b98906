package jesus_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jesus-go/jesus/codec"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/schema"
)

// countingZstd is the real zstd compressor, counting its work.
type countingZstd struct {
	codec.Compressor
	comp, decomp atomic.Int64
}

func (c *countingZstd) Compress(dst, src []byte) ([]byte, error) {
	c.comp.Add(1)
	return c.Compressor.Compress(dst, src)
}

func (c *countingZstd) Decompress(dst, src []byte, limit int) ([]byte, error) {
	c.decomp.Add(1)
	return c.Compressor.Decompress(dst, src, limit)
}

func countingCodecs(t *testing.T) (*codec.Registry, *countingZstd) {
	t.Helper()
	r := codec.NewRegistry(codec.DefaultLimits())
	cz := &countingZstd{Compressor: codec.NewZstd(codec.DefaultLimits())}
	if err := r.RegisterCompressor(cz); err != nil {
		t.Fatal(err)
	}
	return r, cz
}

// One message, one hop: one compression where it is sent and one decompression where
// it is received, with validation on at both ends, on every transport and in every mode
// the transport carries.
func TestOneCompressionOneDecompressionPerHop(t *testing.T) {
	leakCheck(t)
	set := loadSchemas(t)
	d := set.Service("orders")
	for _, tr := range []string{"tcp", "unix", "http", "udp"} {
		t.Run(tr, func(t *testing.T) {
			srvCodecs, sz := countingCodecs(t)
			cliCodecs, cz := countingCodecs(t)
			s := jesus.NewServer("orders", jesus.WithCodecs(srvCodecs), jesus.WithValidation(jesus.ServiceSchemas(set, d.Service, d.Version)))
			ran := make(chan string, 16)
			jesus.Handle(s, "get", func(ctx context.Context, ref obj) (obj, error) {
				o := goodOrder()
				o["id"] = ref["id"]
				return o, nil
			})
			jesus.HandleOneWay(s, "submit", func(ctx context.Context, ref obj) error {
				ran <- "submit"
				return nil
			})
			const items = 5
			jesus.HandleStream(s, "watch", func(ctx context.Context, ref obj, send func(obj) error) error {
				for i := 0; i < items; i++ {
					if err := send(obj{"id": ref["id"], "status": "paid"}); err != nil {
						return err
					}
				}
				return nil
			})
			c := startServer(t, s, listenAddr(t, tr, "msgpack+zstd"), jesus.WithCodecs(cliCodecs), jesus.WithValidation(jesus.ReceiverSchemas(set)))
			ctx := ctxT(t)
			ref := obj{"id": "o-1"}
			check := func(what string, cc, cd, sc, sd int64) {
				t.Helper()
				got := [4]int64{cz.comp.Swap(0), cz.decomp.Swap(0), sz.comp.Swap(0), sz.decomp.Swap(0)}
				if want := [4]int64{cc, cd, sc, sd}; got != want {
					t.Fatalf("%s: client compress/decompress %d/%d, server %d/%d; want %d/%d, %d/%d", what, got[0], got[1], got[2], got[3], cc, cd, sc, sd)
				}
			}
			if tr != "udp" {
				if _, err := jesus.Call[obj, obj](ctx, c, "orders.get", ref); err != nil {
					t.Fatal(err)
				}
				check("response", 1, 1, 1, 1)
				n := 0
				for _, err := range jesus.Stream[obj, obj](ctx, c, "orders.watch", ref) {
					if err != nil {
						t.Fatal(err)
					}
					n++
				}
				if n != items {
					t.Fatalf("stream: %d items, want %d", n, items)
				}
				check("stream", 1, items, items, 1)
			}
			if err := jesus.Ack(ctx, c, "orders.submit", ref); err != nil {
				t.Fatal(err)
			}
			<-ran
			check("ack", 1, 0, 0, 1)
		})
	}
}

// badOrders serves orders without checking its own replies: get answers reply, watch
// sends items; the caller's schemas must catch what breaks them.
func badOrders(t *testing.T, spec string, reply obj, items []obj) *jesus.Server {
	t.Helper()
	s := jesus.NewServer("orders")
	jesus.Handle(s, "get", func(ctx context.Context, ref obj) (obj, error) { return reply, nil })
	jesus.HandleStream(s, "watch", func(ctx context.Context, ref obj, send func(obj) error) error {
		for _, it := range items {
			if err := send(it); err != nil {
				return err
			}
		}
		return nil
	})
	return s
}

func wantBadResponse(t *testing.T, err error, service string, pointers ...string) {
	t.Helper()
	var e *jesus.Error
	if !errors.As(err, &e) || e.Code != jesus.CodeBadResponse || !errors.Is(err, jesus.ErrBadResponse) {
		t.Fatalf("got %v, want a bad_response error", err)
	}
	if e.Remote {
		t.Fatalf("bad_response is found by the caller, not sent by the receiver: %v", err)
	}
	if !strings.HasPrefix(e.Service, service+"@") || !strings.Contains(e.Error(), e.Service) {
		t.Fatalf("error names schema %q, want %s@version, in the message too: %v", e.Service, service, err)
	}
	for _, p := range pointers {
		found := false
		for _, f := range e.Failures {
			found = found || f.Pointer == p
		}
		if !found || !strings.Contains(e.Error(), p) {
			t.Fatalf("error does not name pointer %s: %v (failures %+v)", p, err, e.Failures)
		}
	}
	if strings.Count(e.Error(), "\n") != 0 {
		t.Fatalf("error is not one line: %q", e.Error())
	}
}

// A receiver whose response or stream item breaks the schema the caller expects is
// refused at the caller, over every transport with replies and in both codecs.
func TestCallerRefusesBadResponses(t *testing.T) {
	leakCheck(t)
	set := loadSchemas(t)
	bad := goodOrder()
	bad["id"] = "o-1"
	bad["currency"] = "euro" // not in the enum
	delete(bad, "lines")     // required
	items := []obj{{"id": "o-1", "status": "paid"}, {"id": "o-1", "status": "lost", "extra": true}}
	for _, tr := range []string{"tcp", "unix", "http"} {
		for _, cd := range []string{"json", "msgpack+zstd"} {
			t.Run(tr+"+"+cd, func(t *testing.T) {
				spec := listenAddr(t, tr, cd)
				c := startServer(t, badOrders(t, spec, bad, items), spec, jesus.WithValidation(jesus.ReceiverSchemas(set)))
				ctx := ctxT(t)
				_, err := jesus.Call[obj, obj](ctx, c, "orders.get", obj{"id": "o-1"})
				wantBadResponse(t, err, "orders", "/currency", "/lines")
				if !strings.Contains(err.Error(), "127.0.0.1") && !strings.Contains(err.Error(), ".sock") {
					t.Fatalf("error does not name the receiver's address: %v", err)
				}
				var got []obj
				for it, err := range jesus.Stream[obj, obj](ctx, c, "orders.watch", obj{"id": "o-1"}) {
					if err != nil {
						wantBadResponse(t, err, "orders", "/status", "") // "": additionalProperties fails at the item itself
						break
					}
					got = append(got, it)
				}
				if len(got) != 1 || got[0]["status"] != "paid" {
					t.Fatalf("items before the bad one: %v, want the first only", got)
				}
				if st := c.Stats(); st.BadResponses != 2 {
					t.Fatalf("ClientStats.BadResponses = %d, want 2", st.BadResponses)
				}
			})
		}
	}
}

// CallerSchemas holds the receiver to what the caller declares under calls, which may
// be stricter than what the receiver publishes, and falls back to the receiver's
// schema where the caller declares none.
func TestCallerSchemasHoldTheReceiverToCalls(t *testing.T) {
	leakCheck(t)
	dir := t.TempDir()
	write := func(name, doc string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("pricer.json", `{"service": "pricer", "version": "1.2.0", "channels": {"rpc": "tcp+json"},
		"methods": {
			"quote": {"mode": "response", "channel": "rpc", "request": {"type": "object"},
				"response": {"type": "object", "required": ["amount"], "properties": {"amount": {"type": "number"}}}},
			"list": {"mode": "response", "channel": "rpc", "request": {"type": "object"},
				"response": {"type": "object", "required": ["items"]}}}}`)
	write("shop.json", `{"service": "shop", "version": "2.0.1", "channels": {"rpc": "tcp+json"},
		"calls": {"pricer.quote": {"request": {"type": "object"},
			"response": {"type": "object", "required": ["amount"], "properties": {"amount": {"type": "number", "maximum": 100}}}}}}`)
	set, err := schema.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := jesus.NewServer("pricer", jesus.WithValidation(jesus.ServiceSchemas(set, "pricer", "1.2.0")))
	jesus.Handle(s, "quote", func(ctx context.Context, q obj) (obj, error) { return obj{"amount": q["amount"]}, nil })
	jesus.Handle(s, "list", func(ctx context.Context, q obj) (obj, error) { return obj{"items": []any{}}, nil })
	c := startServer(t, s, "tcp+json://127.0.0.1:0", jesus.WithValidation(jesus.CallerSchemas(set, "shop", "2.0.1", jesus.ReceiverSchemas(set))))
	ctx := ctxT(t)
	if _, err := jesus.Call[obj, obj](ctx, c, "pricer.quote", obj{"amount": 50}); err != nil {
		t.Fatalf("within both schemas: %v", err)
	}
	_, err = jesus.Call[obj, obj](ctx, c, "pricer.quote", obj{"amount": 500})
	wantBadResponse(t, err, "shop", "/amount")
	if !strings.Contains(err.Error(), "shop@2.0.1") {
		t.Fatalf("error does not name the caller's schema shop@2.0.1: %v", err)
	}
	if _, err := jesus.Call[obj, obj](ctx, c, "pricer.list", obj{}); err != nil {
		t.Fatalf("a call shop does not declare falls back to pricer's schema, which the reply meets: %v", err)
	}
}

// An interceptor sees every call on both ends, typed values included, and can add meta
// on the client that the server reads.
func TestInterceptorsWrapCallsAndStreams(t *testing.T) {
	leakCheck(t)
	var log atomic.Value
	log.Store("")
	add := func(s string) {
		for {
			old := log.Load().(string)
			if log.CompareAndSwap(old, old+s+";") {
				return
			}
		}
	}
	tag := func(side string) jesus.Interceptor {
		return interceptor{
			unary: func(next jesus.UnaryFunc) jesus.UnaryFunc {
				return func(ctx context.Context, call *jesus.Invocation) error {
					if !call.Server {
						if call.Meta.Extra == nil {
							call.Meta.Extra = map[string]string{}
						}
						call.Meta.Extra["x-tag"] = "t1"
					}
					err := next(ctx, call)
					add(fmt.Sprintf("%s %s %s tag=%s err=%v", side, call.Method, call.Mode, call.Meta.Extra["x-tag"], jesus.CodeOf(err)))
					return err
				}
			},
			stream: func(next jesus.StreamFunc) jesus.StreamFunc {
				return func(ctx context.Context, call *jesus.Invocation, send func(any) error) error {
					n := 0
					err := next(ctx, call, func(it any) error { n++; return send(it) })
					add(fmt.Sprintf("%s %s items=%d", side, call.Method, n))
					return err
				}
			},
		}
	}
	s := jesus.NewServer("svc", jesus.WithInterceptors(tag("server")))
	jesus.Handle(s, "echo", func(ctx context.Context, in string) (string, error) { return in + "!", nil })
	jesus.HandleStream(s, "count", func(ctx context.Context, n int, send func(int) error) error {
		for i := 0; i < n; i++ {
			if err := send(i); err != nil {
				return err
			}
		}
		return nil
	})
	c := startServer(t, s, "tcp+json://127.0.0.1:0", jesus.WithInterceptors(tag("client")))
	ctx := ctxT(t)
	if got, err := jesus.Call[string, string](ctx, c, "svc.echo", "hi"); err != nil || got != "hi!" {
		t.Fatalf("echo: %q, %v", got, err)
	}
	sum := 0
	for it, err := range jesus.Stream[int, int](ctx, c, "svc.count", 4) {
		if err != nil {
			t.Fatal(err)
		}
		sum += it
	}
	if sum != 0+1+2+3 {
		t.Fatalf("stream items through interceptors sum to %d", sum)
	}
	got := log.Load().(string)
	for _, want := range []string{
		"server svc.echo response tag=t1 err=;", "client svc.echo response tag=t1 err=;",
		"server svc.count items=4;", "client svc.count items=4;",
	} {
		if !strings.Contains(got, want) {
			t.Fatalf("interceptor log %q lacks %q", got, want)
		}
	}
}

type interceptor struct {
	unary  func(jesus.UnaryFunc) jesus.UnaryFunc
	stream func(jesus.StreamFunc) jesus.StreamFunc
}

func (i interceptor) WrapUnary(next jesus.UnaryFunc) jesus.UnaryFunc    { return i.unary(next) }
func (i interceptor) WrapStream(next jesus.StreamFunc) jesus.StreamFunc { return i.stream(next) }

// An interceptor can refuse a call before the handler runs; the caller gets its error.
func TestInterceptorRefuses(t *testing.T) {
	leakCheck(t)
	deny := jesus.UnaryInterceptorFunc(func(next jesus.UnaryFunc) jesus.UnaryFunc {
		return func(ctx context.Context, call *jesus.Invocation) error {
			if call.Meta.UserID != "ada" {
				return jesus.Errorf(jesus.CodePermissionDenied, "user %q may not call %s", call.Meta.UserID, call.Method)
			}
			return next(ctx, call)
		}
	})
	ran := atomic.Int64{}
	s := jesus.NewServer("svc", jesus.WithInterceptors(deny))
	jesus.Handle(s, "echo", func(ctx context.Context, in string) (string, error) { ran.Add(1); return in, nil })
	c := startServer(t, s, "unix+msgpack://"+filepath.Join(t.TempDir(), "s.sock"))
	ctx := ctxT(t)
	if _, err := jesus.Call[string, string](jesus.WithUserID(ctx, "eve"), c, "svc.echo", "x"); jesus.CodeOf(err) != jesus.CodePermissionDenied {
		t.Fatalf("eve: %v, want permission_denied", err)
	}
	if _, err := jesus.Call[string, string](jesus.WithUserID(ctx, "ada"), c, "svc.echo", "x"); err != nil {
		t.Fatalf("ada: %v", err)
	}
	if ran.Load() != 1 {
		t.Fatalf("handler ran %d times, want 1", ran.Load())
	}
}

// TestTypedMessagesCheckedByValue: Go structs over msgpack and json are checked by their
// values at both ends (the sender's value; the receiver's message, read exactly), with the same
// verdicts and reasons as the bytes: a bad request is refused before it is sent, a bad
// response is refused by the caller and not handed over, a good one arrives whole.
func TestTypedMessagesCheckedByValue(t *testing.T) {
	leakCheck(t)
	set := compareSchemas(t)
	for _, spec := range []string{"tcp+msgpack://127.0.0.1:0", "tcp+msgpack+zstd://127.0.0.1:0", "http+json://127.0.0.1:0", "tcp+json+gzip://127.0.0.1:0"} {
		status := "accepted"
		s := jesus.NewServer("shop") // unchecked: it may break its contract
		jesus.Handle(s, "create", func(ctx context.Context, o ShopOrder) (ShopReceipt, error) {
			r := receiptFor(&o)
			r.Status = status
			return r, nil
		})
		bound, err := s.Listen(ctxT(t), spec)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		c := jesus.NewClient("validating", jesus.WithTarget(bound.String()), jesus.WithValidation(jesus.ReceiverSchemas(set)))
		t.Cleanup(func() { c.Close() })
		ctx := ctxT(t)

		got, err := jesus.Call[*ShopOrder, ShopReceipt](ctx, c, "shop.create", largeOrder)
		if err != nil || got != receiptFor(largeOrder) {
			t.Fatalf("%s: good call: %+v, %v", spec, got, err)
		}
		bad := *smallOrder
		bad.Lines = []ShopLine{{SKU: "abc", Quantity: 0, UnitPrice: Money{Amount: -1, Currency: "XXX"}}}
		if _, err := jesus.Call[*ShopOrder, ShopReceipt](ctx, c, "shop.create", &bad); jesus.CodeOf(err) != jesus.CodeInvalidArgument ||
			!strings.Contains(err.Error(), "/lines/0/quantity") || !strings.Contains(err.Error(), "/lines/0/unitPrice/currency") {
			t.Fatalf("%s: bad request: %v", spec, err)
		}
		status = "lost"
		var res ShopReceipt
		err = c.Invoke(ctx, "shop.create", jesus.ModeResponse, smallOrder, &res)
		wantBadResponse(t, err, "shop", "/status")
		if res != (ShopReceipt{}) {
			t.Fatalf("%s: a refused response was handed over: %+v", spec, res)
		}
	}
}
