package async_test

import (
	"context"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/channeltest"
	jdisc "github.com/jesus-go/jesus/jesus/discovery"

	"github.com/jesus-go/jesus/gateway/async"
	"github.com/jesus-go/jesus/gateway/internal/gatewaytest"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/registry"
	"github.com/jesus-go/jesus/schema/registry/registrytest"
)

type num struct {
	N int `json:"n"`
}

type got struct {
	a       *async.Answer
	tracked bool
}

// receiver serves doubler.double: it signals when a request arrived and answers to the
// hook once released.
func receiver(t *testing.T, r *async.Responder, arrived chan<- async.Hook, release <-chan struct{}) *jesus.Server {
	srv := jesus.NewServer("doubler")
	async.Handle(srv, "double", r, func(ctx context.Context, req num) (num, error) {
		if h, ok, _ := async.HookFrom(ctx); ok && arrived != nil {
			arrived <- h
		}
		if release != nil {
			<-release
		}
		if req.N < 0 {
			return num{}, jesus.NewError(jesus.CodeInvalidArgument, "n must not be negative")
		}
		return num{N: 2 * req.N}, nil
	})
	jesus.HandleOneWay(srv, "never", func(ctx context.Context, req num) error { return nil })
	return srv
}

// An answer to a request of a caller that restarted before it came reaches the new
// instance, which handles it by the request's tag.
func TestAnswerAcrossCallerRestart(t *testing.T) {
	_, reg, cache := registrytest.Start(t, time.Second)
	set, err := schema.LoadDir("testdata/schemas")
	if err != nil {
		t.Fatal(err)
	}
	ctx := gatewaytest.Ctx(t)
	disc := jdisc.New(cache)
	t.Cleanup(disc.Close)

	// The receiver, answering through the registry.
	rc := jesus.NewClient("doubler", jesus.WithResolver(disc))
	t.Cleanup(func() { rc.Close() })
	resp := async.NewResponder(async.ResponderConfig{Client: rc})
	arrived, release := make(chan async.Hook, 1), make(chan struct{})
	dsrv := receiver(t, resp, arrived, release)
	if err := dsrv.ListenDescriptor(ctx, set.Service("doubler"), jesus.LoopbackAddrs(t.TempDir())); err != nil {
		t.Fatal(err)
	}
	if _, err := jdisc.Register(ctx, dsrv, reg, set.Service("doubler")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dsrv.Close() })

	// Caller instance A sends, then goes away before the answer.
	answersA := make(chan got, 1)
	srvA, trA := startCaller(t, ctx, set, reg, answersA)
	c := jesus.NewClient("caller", jesus.WithResolver(disc), jesus.WithInterceptors(async.Interceptor()))
	t.Cleanup(func() { c.Close() })
	var id string
	channeltest.Eventually(t, 20*time.Second, "a send that finds the receiver in the registry", func() bool {
		id, err = trA.Send(ctx, c, "doubler.double", num{N: 21}, async.Request{Tag: "double", Timeout: 30 * time.Second})
		return err == nil
	})
	if h := <-arrived; h.ID != id || h.Target != "jesus:caller.answers" || h.Tag != "double" || h.Deadline.IsZero() {
		t.Fatalf("receiver got hook %+v", h)
	}
	if trA.Pending() != 1 {
		t.Fatalf("pending %d", trA.Pending())
	}
	srvA.Close()
	close(release) // the receiver answers now; no caller instance is alive

	answersB := make(chan got, 1)
	startCaller(t, ctx, set, reg, answersB) // instance B comes up

	select {
	case g := <-answersB:
		var res num
		if g.a.ID != id || g.tracked || g.a.Decode(&res) != nil || res.N != 42 {
			t.Fatalf("instance B got %+v (tracked %v) %s", g.a, g.tracked, g.a.Result)
		}
	case g := <-answersA:
		t.Fatalf("the stopped instance got the answer: %+v", g.a)
	case <-ctx.Done():
		t.Fatal("the answer never reached the new instance")
	}
}

// startCaller starts an instance of caller, registered, whose tracker hands answers of
// requests tagged "double" to answers.
func startCaller(t *testing.T, ctx context.Context, set *schema.Set, reg *registry.Registry, answers chan got) (*jesus.Server, *async.Tracker) {
	tr, err := async.NewTracker(async.TrackerConfig{Hook: "jesus:caller.answers", Tags: map[string]async.TagHandlers{
		"double": {
			OnSuccess: func(ctx context.Context, a *async.Answer, tracked bool) { answers <- got{a, tracked} },
			OnError:   func(ctx context.Context, a *async.Answer, tracked bool) { answers <- got{a, tracked} },
		}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := jesus.NewServer("caller")
	tr.Handle(srv, "answers")
	if err := srv.ListenDescriptor(ctx, set.Service("caller"), jesus.LoopbackAddrs(t.TempDir())); err != nil {
		t.Fatal(err)
	}
	if _, err := jdisc.Register(ctx, srv, reg, set.Service("caller")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, tr
}

// laterReceiver serves doubler on loopback (its address is bound), with a method "later"
// that keeps the hook (on kept) to answer after it returned.
func laterReceiver(t *testing.T, ctx context.Context) (resp *async.Responder, bound channel.Spec, kept <-chan async.Hook) {
	resp = async.NewResponder(async.ResponderConfig{})
	t.Cleanup(func() { resp.Shutdown(ctx) })
	dsrv := receiver(t, resp, nil, nil)
	hooks := make(chan async.Hook, 1)
	jesus.HandleOneWay(dsrv, "later", func(ctx context.Context, req num) error {
		h, ok, err := async.HookFrom(ctx)
		if err != nil || !ok {
			return jesus.NewError(jesus.CodeInvalidArgument, "no hook")
		}
		hooks <- h // a long job: answered after the handler returned
		return nil
	})
	bound, err := dsrv.Listen(ctx, "tcp+json://127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dsrv.Close() })
	return resp, bound, hooks
}

// shutdownWaits: a receiver that never answers: the timeout runs the error handler, and
// Shutdown waits for it; the tracker sends nothing after.
func shutdownWaits(t *testing.T, ctx context.Context, tr *async.Tracker, c *jesus.Client, req async.Request, answers <-chan got) {
	short := req
	short.Timeout = 300 * time.Millisecond
	if _, err := tr.Send(ctx, c, "doubler.never", num{N: 1}, short); err != nil {
		t.Fatal(err)
	}
	if err := tr.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case g := <-answers:
		if jesus.CodeOf(g.a.Err()) != jesus.CodeDeadlineExceeded {
			t.Fatalf("timeout: %+v", g.a.Error)
		}
	default:
		t.Fatal("Shutdown returned before the pending request timed out")
	}
	if _, err := tr.Send(ctx, c, "doubler.double", num{N: 1}, req); jesus.CodeOf(err) != jesus.CodeUnavailable {
		t.Fatalf("send after Shutdown: %v", err)
	}
}

// Success, error and timeout each run their handler; Shutdown waits for the pending
// request's timeout. The hook here is a URL.
func TestTrackerURLHook(t *testing.T) {
	channeltest.CheckLeaks(t)
	ctx := gatewaytest.Ctx(t)
	resp, bound, kept := laterReceiver(t, ctx)
	tr := gatewaytest.HookTracker(t)

	c := jesus.NewClient("caller", jesus.WithTarget(bound.String()), jesus.WithInterceptors(async.Interceptor()))
	t.Cleanup(func() { c.Close() })
	answers := make(chan got, 3)
	on := func(ctx context.Context, a *async.Answer, tracked bool) { answers <- got{a, tracked} }
	req := async.Request{OnSuccess: on, OnError: on, Timeout: 10 * time.Second}

	id, err := tr.Send(ctx, c, "doubler.double", num{N: 4}, req)
	if err != nil {
		t.Fatal(err)
	}
	g := <-answers
	var res num
	if g.a.ID != id || !g.tracked || g.a.Decode(&res) != nil || res.N != 8 {
		t.Fatalf("success: %+v %s", g.a, g.a.Result)
	}
	if _, err := tr.Send(ctx, c, "doubler.double", num{N: -1}, req); err != nil {
		t.Fatal(err)
	}
	if g := <-answers; jesus.CodeOf(g.a.Err()) != jesus.CodeInvalidArgument || g.a.Error.Message != "n must not be negative" {
		t.Fatalf("error: %+v", g.a.Error)
	}

	// A receiver that keeps the hook and answers when its work is done.
	id, err = tr.Send(ctx, c, "doubler.later", num{N: 5}, req)
	if err != nil {
		t.Fatal(err)
	}
	resp.RespondLater(<-kept, num{N: 50}, nil)
	if g := <-answers; g.a.ID != id || g.a.Decode(&res) != nil || res.N != 50 {
		t.Fatalf("later: %+v %s", g.a, g.a.Result)
	}

	shutdownWaits(t, ctx, tr, c, req, answers)

	// A client without the interceptor cannot carry the hook.
	tr2, _ := async.NewTracker(async.TrackerConfig{Hook: "http://127.0.0.1:1/x"})
	plain := jesus.NewClient("caller", jesus.WithTarget(bound.String()))
	t.Cleanup(func() { plain.Close() })
	if _, err := tr2.Send(ctx, plain, "doubler.never", num{N: 1}, req); jesus.CodeOf(err) != jesus.CodeFailedPrecondition || tr2.Pending() != 0 {
		t.Fatalf("send without the interceptor: %v", err)
	}
}
