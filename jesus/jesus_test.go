package jesus_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jesus-go/jesus/codec"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/jesus/internal/jesustest"
)

// orderService registers one method per mode on s; seen receives one-way requests.
func orderService(s *jesus.Server, seen chan<- Order) {
	jesus.Handle(s, "create", func(ctx context.Context, o Order) (Receipt, error) {
		if o.ID == "" {
			return Receipt{}, jesus.NewError(jesus.CodeInvalidArgument, "order id is empty")
		}
		return Receipt{OrderID: o.ID, Status: "created", CorrID: jesus.CorrID(ctx)}, nil
	})
	jesus.HandleOneWay(s, "touch", func(ctx context.Context, o Order) error {
		seen <- o
		return nil
	})
	jesus.HandleStream(s, "lines", func(ctx context.Context, o Order, send func(Line) error) error {
		for _, l := range o.Lines {
			if err := send(l); err != nil {
				return err
			}
		}
		return nil
	})
}

var (
	transports = []string{"tcp", "unix", "http", "udp"}
	codecNames = []string{"json", "msgpack", "json+gzip", "msgpack+zstd", "msgpack+s2", "json+zstd"}
)

// TestMatrix runs every mode over every transport and codec; what a transport cannot carry
// is tested as refused.
func TestMatrix(t *testing.T) {
	leakCheck(t)
	for _, tr := range transports {
		for _, cn := range codecNames {
			t.Run(tr+"+"+cn, func(t *testing.T) {
				seen := make(chan Order, 4)
				s := jesus.NewServer("orders")
				orderService(s, seen)
				c := startServer(t, s, listenAddr(t, tr, cn))
				ctx := ctxT(t)
				order := sampleOrder("o-1", 3)

				// noResponse
				if err := jesus.Send(ctx, c, "orders.touch", order); err != nil {
					t.Fatalf("send: %v", err)
				}
				if got := <-seen; got.ID != "o-1" || len(got.Lines) != 3 {
					t.Fatalf("noResponse delivered %+v", got)
				}
				// ack
				if err := jesus.Ack(ctx, c, "orders.touch", order); err != nil {
					t.Fatalf("ack: %v", err)
				}
				if got := <-seen; got.ID != "o-1" {
					t.Fatalf("ack delivered %+v", got)
				}

				rec, err := jesus.Call[Order, Receipt](ctx, c, "orders.create", order)
				items := 0
				var streamErr error
				for l, err := range jesus.Stream[Order, Line](ctx, c, "orders.lines", order) {
					if err != nil {
						streamErr = err
						break
					}
					if l.Qty != items+1 {
						t.Fatalf("item %d: %+v", items, l)
					}
					items++
				}
				if tr == "udp" {
					if !errors.Is(err, jesus.ErrUnimplemented) || !strings.Contains(err.Error(), "use tcp, unix or http") {
						t.Fatalf("response over udp: want unimplemented with a hint, got %v", err)
					}
					if !errors.Is(streamErr, jesus.ErrUnimplemented) {
						t.Fatalf("stream over udp: want unimplemented, got %v", streamErr)
					}
					return
				}
				if err != nil {
					t.Fatalf("call: %v", err)
				}
				if rec.OrderID != "o-1" || rec.Status != "created" || rec.CorrID == "" {
					t.Fatalf("receipt %+v", rec)
				}
				if streamErr != nil || items != 3 {
					t.Fatalf("stream: %d items, err %v", items, streamErr)
				}
				// a typed error crosses the wire with its code
				_, err = jesus.Call[Order, Receipt](ctx, c, "orders.create", Order{})
				var je *jesus.Error
				if !errors.As(err, &je) || je.Code != jesus.CodeInvalidArgument || !je.Remote || !strings.Contains(je.Message, "order id is empty") {
					t.Fatalf("want remote invalid_argument, got %#v", err)
				}
				if !errors.Is(err, jesus.ErrInvalidArgument) {
					t.Fatalf("errors.Is by code failed for %v", err)
				}
			})
		}
	}
}

func TestUnknownMethodAndWrongMode(t *testing.T) {
	leakCheck(t)
	for _, tr := range []string{"tcp", "http"} {
		t.Run(tr, func(t *testing.T) {
			s := jesus.NewServer("orders")
			orderService(s, make(chan Order, 1))
			c := startServer(t, s, listenAddr(t, tr, "msgpack"))
			ctx := ctxT(t)
			_, err := jesus.Call[Order, Receipt](ctx, c, "orders.nope", Order{ID: "x"})
			if !errors.Is(err, jesus.ErrUnimplemented) || !strings.Contains(err.Error(), "orders.nope") {
				t.Fatalf("unknown method: %v", err)
			}
			_, err = jesus.Call[Order, Receipt](ctx, c, "orders.lines", Order{ID: "x"})
			if !errors.Is(err, jesus.ErrUnimplemented) || !strings.Contains(err.Error(), "stream method") {
				t.Fatalf("wrong mode: %v", err)
			}
		})
	}
}

func TestDeadlinePropagates(t *testing.T) {
	leakCheck(t)
	for _, tr := range []string{"tcp", "unix", "http"} {
		t.Run(tr, func(t *testing.T) {
			s := jesus.NewServer("slow")
			gotDeadline := make(chan time.Duration, 1)
			ended := make(chan error, 1)
			jesus.Handle(s, "wait", func(ctx context.Context, _ struct{}) (struct{}, error) {
				dl, ok := ctx.Deadline()
				if !ok {
					gotDeadline <- -1
				} else {
					gotDeadline <- time.Until(dl)
				}
				<-ctx.Done()
				ended <- ctx.Err()
				return struct{}{}, ctx.Err()
			})
			c := startServer(t, s, listenAddr(t, tr, "json"))
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			_, err := jesus.Call[struct{}, struct{}](ctx, c, "slow.wait", struct{}{})
			if !errors.Is(err, jesus.ErrDeadlineExceeded) {
				t.Fatalf("want deadline_exceeded, got %v", err)
			}
			if d := <-gotDeadline; d <= 0 || d > 300*time.Millisecond {
				t.Fatalf("handler saw deadline in %v, want (0, 300ms]", d)
			}
			if err := <-ended; err == nil {
				t.Fatal("handler context did not end")
			}
		})
	}
}

func TestCancelReachesHandler(t *testing.T) {
	leakCheck(t)
	for _, tr := range []string{"tcp", "unix", "http"} {
		t.Run(tr, func(t *testing.T) {
			s := jesus.NewServer("svc")
			started := make(chan struct{})
			ended := make(chan error, 1)
			jesus.Handle(s, "block", func(ctx context.Context, _ struct{}) (struct{}, error) {
				close(started)
				<-ctx.Done()
				ended <- ctx.Err()
				return struct{}{}, nil
			})
			var streamed atomic.Int64
			streamEnded := make(chan error, 1)
			jesus.HandleStream(s, "forever", func(ctx context.Context, _ struct{}, send func(int) error) error {
				for i := 0; ; i++ {
					if err := send(i); err != nil {
						streamEnded <- err
						return err
					}
					streamed.Add(1)
				}
			})
			c := startServer(t, s, listenAddr(t, tr, "msgpack"))
			ctx, cancel := context.WithCancel(context.Background())
			errc := make(chan error, 1)
			go func() {
				_, err := jesus.Call[struct{}, struct{}](ctx, c, "svc.block", struct{}{})
				errc <- err
			}()
			<-started
			cancel()
			if err := <-errc; !errors.Is(err, jesus.ErrCanceled) {
				t.Fatalf("caller: want canceled, got %v", err)
			}
			if err := <-ended; err == nil {
				t.Fatal("handler context not cancelled")
			}
			// stream: stop early, the handler's send fails and it returns
			n := 0
			for v, err := range jesus.Stream[struct{}, int](ctxT(t), c, "svc.forever", struct{}{}) {
				if err != nil {
					t.Fatal(err)
				}
				if v != n {
					t.Fatalf("item %d = %d", n, v)
				}
				if n++; n == 10 {
					break
				}
			}
			if err := <-streamEnded; err == nil {
				t.Fatal("stream handler did not see the cancel")
			}
		})
	}
}

func TestSlowStreamReaderIsBounded(t *testing.T) {
	leakCheck(t)
	for _, tr := range []string{"tcp", "unix"} {
		t.Run(tr, func(t *testing.T) {
			s := jesus.NewServer("svc")
			var sent atomic.Int64
			jesus.HandleStream(s, "many", func(ctx context.Context, _ struct{}, send func([]byte) error) error {
				for i := 0; i < 100000; i++ {
					if err := send(make([]byte, 1024)); err != nil {
						return err
					}
					sent.Add(1)
				}
				return nil
			})
			c := startServer(t, s, listenAddr(t, tr, "msgpack"))
			ctx := ctxT(t)
			next, stop := iterPull(jesus.Stream[struct{}, []byte](ctx, c, "svc.many", struct{}{}))
			defer stop()
			if _, err, ok := next(); !ok || err != nil {
				t.Fatalf("first item: %v", err)
			}
			// The reader stops reading. The sender must stall at the flow-control window
			// (64 items by default) plus what sits in socket buffers, far from 100000.
			waitStable(t, &sent)
			if n := sent.Load(); n > 4096 {
				t.Fatalf("sender ran ahead of a stalled reader: %d items sent", n)
			} else {
				t.Logf("sender stalled after %d items of 1 KiB", n)
			}
		})
	}
}

func TestHandlerPanicIsInternal(t *testing.T) {
	leakCheck(t)
	s := jesus.NewServer("svc")
	jesus.Handle(s, "boom", func(ctx context.Context, _ struct{}) (struct{}, error) {
		panic("kaboom")
	})
	jesus.Handle(s, "ok", func(ctx context.Context, _ struct{}) (string, error) { return "fine", nil })
	c := startServer(t, s, listenAddr(t, "tcp", "json"))
	ctx := ctxT(t)
	_, err := jesus.Call[struct{}, struct{}](ctx, c, "svc.boom", struct{}{})
	if !errors.Is(err, jesus.ErrInternal) || !strings.Contains(err.Error(), "kaboom") {
		t.Fatalf("want internal naming the panic, got %v", err)
	}
	if got, err := jesus.Call[struct{}, string](ctx, c, "svc.ok", struct{}{}); err != nil || got != "fine" {
		t.Fatalf("server dead after a panic: %q %v", got, err)
	}
}

func TestConcurrencyLimit(t *testing.T) {
	leakCheck(t)
	s := jesus.NewServer("svc", jesus.WithMaxConcurrent(2))
	release := make(chan struct{})
	var running sync.WaitGroup
	running.Add(2)
	jesus.Handle(s, "hold", func(ctx context.Context, _ struct{}) (struct{}, error) {
		running.Done()
		<-release
		return struct{}{}, nil
	})
	c := startServer(t, s, listenAddr(t, "tcp", "msgpack"))
	ctx := ctxT(t)
	errs := make(chan error, 2)
	for i := 0; i < 2; i++ {
		go func() {
			_, err := jesus.Call[struct{}, struct{}](ctx, c, "svc.hold", struct{}{})
			errs <- err
		}()
	}
	running.Wait()
	_, err := jesus.Call[struct{}, struct{}](ctx, c, "svc.hold", struct{}{})
	if !errors.Is(err, jesus.ErrResourceExhausted) || !strings.Contains(err.Error(), "limit of 2") {
		t.Fatalf("third call: want resource_exhausted naming the limit, got %v", err)
	}
	close(release)
	for i := 0; i < 2; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestShutdownDrainsAcked: every acknowledged request completes, and calls and streams in
// flight finish, when the server shuts down gracefully.
func TestShutdownDrainsAcked(t *testing.T) {
	leakCheck(t)
	for _, tr := range []string{"tcp", "unix", "http", "udp"} {
		t.Run(tr, func(t *testing.T) {
			s := jesus.NewServer("svc")
			gate := make(chan struct{})
			var started, done atomic.Int64
			allStarted := make(chan struct{})
			const n = 20
			jesus.HandleOneWay(s, "work", func(ctx context.Context, i int) error {
				if started.Add(1) == n {
					close(allStarted)
				}
				<-gate
				done.Add(1)
				return nil
			})
			slowStarted := make(chan struct{})
			jesus.Handle(s, "slow", func(ctx context.Context, _ struct{}) (string, error) {
				close(slowStarted)
				<-gate
				return "finished", nil
			})
			ctx := ctxT(t)
			bound, err := s.Listen(ctx, listenAddr(t, tr, "msgpack"))
			if err != nil {
				t.Fatal(err)
			}
			c := jesus.NewClient("t", jesus.WithTarget(bound.String()))
			defer c.Close()
			for i := 0; i < n; i++ {
				if err := jesus.Ack(ctx, c, "svc.work", i); err != nil {
					t.Fatalf("ack %d: %v", i, err)
				}
			}
			<-allStarted
			slowErr := make(chan error, 1)
			if tr != "udp" {
				go func() {
					got, err := jesus.Call[struct{}, string](ctx, c, "svc.slow", struct{}{})
					if err == nil && got != "finished" {
						err = fmt.Errorf("got %q", got)
					}
					slowErr <- err
				}()
				<-slowStarted
			} else {
				slowErr <- nil
			}
			shut := make(chan error, 1)
			go func() { shut <- s.Shutdown(ctx) }()
			close(gate)
			if err := <-shut; err != nil {
				t.Fatalf("shutdown: %v", err)
			}
			if got := done.Load(); got != n {
				t.Fatalf("%d of %d acknowledged requests completed", got, n)
			}
			if err := <-slowErr; err != nil && tr != "udp" {
				t.Fatalf("in-flight call during shutdown: %v", err)
			}
		})
	}
}

func TestCorrIDPassesThroughHops(t *testing.T) {
	leakCheck(t)
	back := jesus.NewServer("back")
	jesus.Handle(back, "echo", func(ctx context.Context, _ struct{}) (string, error) {
		m, _ := jesus.MsgFromContext(ctx)
		return m.Meta.CorrID + "|" + m.Meta.From + "|" + m.Meta.UserID, nil
	})
	cb := startServer(t, back, listenAddr(t, "tcp", "msgpack"))
	front := jesus.NewServer("front")
	jesus.Handle(front, "hop", func(ctx context.Context, _ struct{}) (string, error) {
		return jesus.Call[struct{}, string](ctx, cb, "back.echo", struct{}{})
	})
	cf := startServer(t, front, listenAddr(t, "http", "json"))
	ctx := jesus.WithUserID(jesus.WithCorrID(ctxT(t), "corr-42"), "u-7")
	got, err := jesus.Call[struct{}, string](ctx, cf, "front.hop", struct{}{})
	if err != nil {
		t.Fatal(err)
	}
	if got != "corr-42|tester|u-7" {
		t.Fatalf("meta after two hops: %q", got)
	}
}

func TestMultiFanOut(t *testing.T) {
	leakCheck(t)
	s1 := jesus.NewServer("a")
	jesus.Handle(s1, "name", func(ctx context.Context, _ struct{}) (string, error) { return "a", nil })
	var seen sync.Map // interceptors see every call of a fan-out, Target or not
	c1 := startServer(t, s1, listenAddr(t, "tcp", "msgpack"), jesus.WithInterceptors(jesus.UnaryInterceptorFunc(func(next jesus.UnaryFunc) jesus.UnaryFunc {
		return func(ctx context.Context, call *jesus.Invocation) error {
			seen.Store(call.Method, true)
			return next(ctx, call)
		}
	})))
	s2 := jesus.NewServer("b")
	jesus.Handle(s2, "name", func(ctx context.Context, _ struct{}) (string, error) {
		return "", jesus.NewError(jesus.CodeNotFound, "no b")
	})
	b2, err := s2.Listen(ctxT(t), listenAddr(t, "http", "json"))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	var ra, rb string
	res := c1.Multi(ctxT(t),
		jesus.MultiCall{Name: "first", Method: "a.name", Req: struct{}{}, Res: &ra},
		jesus.MultiCall{Name: "second", Method: "b.name", Req: struct{}{}, Res: &rb, Target: b2.String()},
	)
	if res["first"] != nil || ra != "a" {
		t.Fatalf("first: %v %q", res["first"], ra)
	}
	if !errors.Is(res["second"], jesus.ErrNotFound) {
		t.Fatalf("second: %v", res["second"])
	}
	for _, m := range []string{"a.name", "b.name"} {
		if _, ok := seen.Load(m); !ok {
			t.Errorf("the interceptor did not see %s", m)
		}
	}
	// A fan-out whose context has ended fails every call at once.
	done, cancel := context.WithCancel(ctxT(t))
	cancel()
	res = c1.Multi(done, jesus.MultiCall{Name: "late", Method: "a.name", Req: struct{}{}})
	if !errors.Is(res["late"], jesus.ErrCanceled) {
		t.Fatalf("late: %v", res["late"])
	}
}

func TestLocalErrorsAreNotRemote(t *testing.T) {
	c := jesus.NewClient("t", jesus.WithTarget("tcp+msgpack://127.0.0.1:1"))
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := jesus.Call[struct{}, struct{}](ctx, c, "x.y", struct{}{})
	var je *jesus.Error
	if !errors.As(err, &je) || je.Remote || je.Code != jesus.CodeUnavailable {
		t.Fatalf("want local unavailable, got %#v (%v)", err, err)
	}
	if jesus.CodeOf(context.Canceled) != jesus.CodeCanceled || jesus.CodeOf(context.DeadlineExceeded) != jesus.CodeDeadlineExceeded {
		t.Fatal("context errors map to codes")
	}
}

// TestHostileRequestData: data that is not what its codec says, or that expands past the
// decompression limit, is refused with a code and the server goes on serving.
func TestHostileRequestData(t *testing.T) {
	leakCheck(t)
	s := jesus.NewServer("svc")
	jesus.Handle(s, "echo", func(ctx context.Context, b []byte) (int, error) { return len(b), nil })
	c := startServer(t, s, listenAddr(t, "tcp", "msgpack+zstd"))
	ctx := ctxT(t)
	// The sender refuses what no receiver with its limits would take.
	_, err := jesus.Call[[]byte, int](ctx, c, "svc.echo", make([]byte, 8<<20))
	if !errors.Is(err, jesus.ErrResourceExhausted) || !strings.Contains(err.Error(), "4194304") {
		t.Fatalf("sender: want resource_exhausted naming the limit, got %v", err)
	}
	// A sender with larger limits: 8 MiB of zeros compresses to a few hundred bytes but
	// decodes past the receiver's 4 MiB limit.
	big := jesus.NewClient("t", jesus.WithTarget(s.Channels()[0].String()),
		jesus.WithCodecs(codec.NewRegistry(codec.Limits{MaxDecompressed: 16 << 20})))
	defer big.Close()
	_, err = jesus.Call[[]byte, int](ctx, big, "svc.echo", make([]byte, 8<<20))
	if !errors.Is(err, jesus.ErrResourceExhausted) || !strings.Contains(err.Error(), "4194304") {
		t.Fatalf("receiver: want resource_exhausted naming the limit, got %v", err)
	}
	// The envelope names its codec, so a json caller is served by a msgpack listener.
	jc := jesus.NewClient("t", jesus.WithTarget(strings.Replace(s.Channels()[0].String(), "msgpack+zstd", "json", 1)))
	defer jc.Close()
	if _, err = jesus.Call[[]byte, int](ctx, jc, "svc.echo", nil); err != nil {
		t.Fatalf("json to a msgpack listener is fine (the envelope names its codec): %v", err)
	}
	if n, err := jesus.Call[[]byte, int](ctx, c, "svc.echo", make([]byte, 1000)); err != nil || n != 1000 {
		t.Fatalf("after the bomb: %d %v", n, err)
	}
}

// A handler that acts for another user keeps the incoming trace context on its calls.
func TestTraceSurvivesAUserIDOfTheHandlers(t *testing.T) {
	leakCheck(t)
	const trace = jesustest.Traceparent
	back := jesus.NewServer("back")
	jesus.Handle(back, "who", func(ctx context.Context, _ struct{}) (string, error) {
		m, _ := jesus.MsgFromContext(ctx)
		return m.Meta.Trace + "|" + m.Meta.UserID, nil
	})
	cb := startServer(t, back, listenAddr(t, "tcp", "msgpack"))
	front := jesus.NewServer("front")
	jesus.Handle(front, "hop", func(ctx context.Context, _ struct{}) (string, error) {
		return jesus.Call[struct{}, string](jesus.WithUserID(ctx, "svc-front"), cb, "back.who", struct{}{})
	})
	cf := startServer(t, front, listenAddr(t, "unix", "json"), jesus.WithInterceptors(jesustest.SetTrace(trace)))
	got, err := jesus.Call[struct{}, string](jesus.WithUserID(ctxT(t), "ada"), cf, "front.hop", struct{}{})
	if err != nil {
		t.Fatal(err)
	}
	if got != trace+"|svc-front" {
		t.Fatalf("trace and user after a hop whose handler set a user id: %q", got)
	}
}

// TestBytesCounted: the data bytes a client sends are the ones its server reads, and the
// other way round, for responses and stream items alike.
func TestBytesCounted(t *testing.T) {
	leakCheck(t)
	s := jesus.NewServer("svc")
	jesus.Handle(s, "echo", func(ctx context.Context, v string) (string, error) { return v + v, nil })
	jesus.HandleStream(s, "items", func(ctx context.Context, n int, send func(int) error) error {
		for i := range n {
			if err := send(i); err != nil {
				return err
			}
		}
		return nil
	})
	c := startServer(t, s, listenAddr(t, "tcp", "json+gzip"))
	if _, err := jesus.Call[string, string](ctxT(t), c, "svc.echo", "hello"); err != nil {
		t.Fatal(err)
	}
	for _, err := range jesus.Stream[int, int](ctxT(t), c, "svc.items", 3) {
		if err != nil {
			t.Fatal(err)
		}
	}
	cs, ss := c.Stats(), s.Stats()
	if cs.BytesOut == 0 || cs.BytesIn == 0 || cs.BytesOut != ss.BytesIn || cs.BytesIn != ss.BytesOut {
		t.Fatalf("client out %d in %d, server in %d out %d", cs.BytesOut, cs.BytesIn, ss.BytesIn, ss.BytesOut)
	}
}
