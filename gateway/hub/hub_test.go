package hub_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jesus-go/jesus/gateway/hub"
	"github.com/jesus-go/jesus/jesus"
)

// Python workers (no ports) and a Go worker serve through a hub registered in etcd; a Go
// client reaches both through the registry, as it would any service.
func TestWorkersThroughRegistry(t *testing.T) {
	reg, cache, _ := registryWith(t)
	h, addr := startHub(t, hub.Config{Registry: reg, Cache: cache})
	pyWorker(t, addr, "pyecho", "py-1")
	pyWorker(t, addr, "pyecho", "py-2")
	goWorker(t, "registry", cache)

	disc := discovery(t, cache)
	c := jesus.NewClient("tester", jesus.WithResolver(disc), jesus.WithValidation(disc))
	t.Cleanup(func() { c.Close() })
	ctx := testCtx(t)
	eventually(t, "both services fronted by the hub", func() bool { return h.Stats().Fronted == 2 })

	greeterThroughHub(t, ctx, c)
	pyechoThroughHub(t, ctx, c)

	// A request that fails the schema never reaches a worker: the hub's front refuses it.
	accepted := h.Stats().Accepted
	raw := jesus.NewClient("raw", jesus.WithResolver(disc))
	t.Cleanup(func() { raw.Close() })
	_, err := jesus.Call[map[string]any, map[string]any](ctx, raw, "pyecho.echo", map[string]any{"text": 5})
	var je *jesus.Error
	if !errors.As(err, &je) || je.Code != jesus.CodeInvalidArgument || len(je.Failures) == 0 || je.Failures[0].Pointer != "/text" {
		t.Fatalf("invalid request: %v", err)
	}
	if got := h.Stats().Accepted; got != accepted {
		t.Fatalf("an invalid request was queued (%d -> %d)", accepted, got)
	}

	overHubAPI(t, addr)
}

// greeterThroughHub: the Go worker's greeter answers, fails and acks through the hub.
func greeterThroughHub(t *testing.T, ctx context.Context, c *jesus.Client) {
	type hello struct {
		Name string `json:"name"`
	}
	type greeting struct {
		Greeting string `json:"greeting"`
		N        int    `json:"n"`
	}
	var g greeting
	eventually(t, "greeter reachable through the registry", func() bool {
		var err error
		g, err = jesus.Call[hello, greeting](ctx, c, "greeter.hello", hello{Name: "ada"})
		return err == nil
	})
	if g.Greeting != "hello, ada" || g.N != 7 {
		t.Fatalf("greeter answered %+v", g)
	}
	_, err := jesus.Call[hello, greeting](ctx, c, "greeter.hello", hello{Name: "nobody"})
	if jesus.CodeOf(err) != jesus.CodeNotFound || !strings.Contains(err.Error(), "no one called nobody") {
		t.Fatalf("handler error through the hub: %v", err)
	}
	if err := jesus.Ack(ctx, c, "greeter.note", map[string]string{"text": "hi"}); err != nil {
		t.Fatalf("ack through the hub: %v", err)
	}
}

// pyechoThroughHub: the Python workers' pyecho answers through the hub.
func pyechoThroughHub(t *testing.T, ctx context.Context, c *jesus.Client) {
	type echoReq struct {
		Text string `json:"text"`
	}
	workers := map[string]bool{}
	for i := 0; i < 20; i++ {
		res, err := jesus.Call[echoReq, map[string]any](ctx, c, "pyecho.echo", echoReq{Text: "hi"})
		if err != nil {
			t.Fatalf("pyecho.echo: %v", err)
		}
		if e, _ := res["echo"].(map[string]any); e["text"] != "hi" || res["method"] != "pyecho.echo" {
			t.Fatalf("pyecho answered %v", res)
		}
		workers[res["worker"].(string)] = true
	}
	if len(workers) != 2 {
		t.Logf("answered by %v (both are polling; the hub gives each job to the oldest poll)", workers)
	}
}

// overHubAPI: pyecho and greeter over the hub's HTTP API at addr, with its errors.
func overHubAPI(t *testing.T, addr string) {
	code, _, body := post(t, "http://"+addr+"/service/pyecho.echo", `{"text":"via http"}`)
	if code != 200 || !strings.Contains(body, `"via http"`) {
		t.Fatalf("POST /service/pyecho.echo: %d %s", code, body)
	}
	code, hdr, body := post(t, "http://"+addr+"/service/pyecho.echo", `{"text":1}`)
	if code != 400 || hdr.Get("Jesus-Error-Code") != "invalid_argument" || !strings.Contains(body, `"pointer":"/text"`) {
		t.Fatalf("invalid request over http: %d %s", code, body)
	}
	code, _, body = post(t, "http://"+addr+"/service/pyecho.echo", `{"text":"x","fail":true}`)
	if code != 412 || !strings.Contains(body, "asked to fail") {
		t.Fatalf("worker error over http: %d %s", code, body)
	}
	code, _, body = post(t, "http://"+addr+"/service/greeter.hello", `{"name":"bob"}`)
	if code != 200 || !strings.Contains(body, `"hello, bob"`) {
		t.Fatalf("Go worker over http: %d %s", code, body)
	}
}

// A worker killed while it holds a job: when the lease runs out the job goes to another
// worker, and the caller gets that worker's answer.
func TestKilledWorkerJobGoesToAnother(t *testing.T) {
	h, addr := startHub(t, hub.Config{Lease: 500 * time.Millisecond})
	holder, lines := pyWorker(t, addr, "jobs", "holder", "hold")
	eventually(t, "the holder polling", func() bool { return h.Stats().Waiting == 1 })

	type result struct {
		code int
		body string
	}
	res := make(chan result, 1)
	go func() {
		code, _, body := post(t, "http://"+addr+"/service/jobs", `{"n":1}`)
		res <- result{code, body}
	}()
	select {
	case l := <-lines:
		if !strings.HasPrefix(l, "HOLD ") {
			t.Fatalf("holder said %q", l)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the holder never took the job")
	}
	if err := holder.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	pyWorker(t, addr, "jobs", "rescuer")
	r := <-res
	var ans map[string]any
	if r.code != 200 || json.Unmarshal([]byte(r.body), &ans) != nil || ans["worker"] != "rescuer" || ans["attempt"].(float64) != 2 {
		t.Fatalf("caller got %d %s", r.code, r.body)
	}
}

// Shutting a Go worker down gracefully lets the call it holds finish.
func TestGoWorkerShutdownFinishesCall(t *testing.T) {
	leakCheck(t)
	h, addr := startHub(t, hub.Config{})
	hw := &hub.Worker{Service: "slow", Pollers: 2, Wait: time.Second}
	srv := jesus.NewServer("slow")
	started, release := make(chan struct{}), make(chan struct{})
	jesus.Handle(srv, "wait", func(ctx context.Context, req map[string]any) (string, error) {
		close(started)
		<-release
		return "done", nil
	})
	if _, err := srv.ListenVia(testCtx(t), hw, "json", addr); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the worker polling", func() bool { return h.Stats().Waiting == 2 })
	res := make(chan string, 1)
	go func() {
		code, _, body := post(t, "http://"+addr+"/service/slow.wait", `{}`)
		res <- body + " " + http200(code)
	}()
	<-started
	stopped := make(chan error, 1)
	go func() { stopped <- srv.Shutdown(testCtx(t)) }()
	close(release)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if r := <-res; r != `"done" ok` {
		t.Fatalf("caller got %s", r)
	}
	eventually(t, "no poll left at the hub", func() bool { return h.Stats().Waiting == 0 })
}

func http200(code int) string {
	if code == 200 {
		return "ok"
	}
	return "status " + strings.Repeat("?", 0) + string(rune('0'+code/100)) + "xx"
}

// A job a Go worker cannot run (a bare queue name, no method) is answered with the
// reason, not left to lapse from worker to worker.
func TestGoWorkerRefusesBareJob(t *testing.T) {
	h, addr := startHub(t, hub.Config{})
	goWorker(t, addr, nil)
	eventually(t, "the worker polling", func() bool { return h.Stats().Waiting > 0 })
	code, hdr, body := post(t, "http://"+addr+"/service/greeter", `{"name":"x"}`)
	if code != 400 || hdr.Get("Jesus-Error-Code") != "invalid_argument" || !strings.Contains(body, "names no method") {
		t.Fatalf("bare job: %d %s", code, body)
	}
}

// Several hubs: a Go worker finds every live hub in the registry, a Python worker is
// given both, and each serves the calls queued at every hub.
func TestWorkerPullsFromEveryHub(t *testing.T) {
	reg, cache, _ := registryWith(t)
	h1, addr1 := startHub(t, hub.Config{Registry: reg, Cache: cache})
	h2, addr2 := startHub(t, hub.Config{Registry: reg, Cache: cache})
	goWorker(t, "registry", cache)
	pyWorker(t, addr1+","+addr2, "pyecho", "py-both")
	eventually(t, "the workers polling both hubs", func() bool { return h1.Stats().Waiting > 1 && h2.Stats().Waiting > 1 })
	for _, a := range []string{addr1, addr2} {
		code, _, body := post(t, "http://"+a+"/service/greeter.hello", `{"name":"ada"}`)
		if code != 200 || !strings.Contains(body, `"hello, ada"`) {
			t.Fatalf("hub %s: %d %s", a, code, body)
		}
		code, _, body = post(t, "http://"+a+"/service/pyecho.echo", `{"text":"hi"}`)
		if code != 200 || !strings.Contains(body, `"py-both"`) {
			t.Fatalf("hub %s: %d %s", a, code, body)
		}
	}
	eventually(t, "both hubs fronting both services", func() bool {
		return len(cache.Instances("greeter")) == 2 && len(cache.Instances("pyecho")) == 2 && h1.Stats().Fronted == 2 && h2.Stats().Fronted == 2
	})
}

// A Go worker renews the lease of a call that runs longer than the lease, so the job is
// not given to another worker while it runs.
func TestGoWorkerRenewsLease(t *testing.T) {
	leakCheck(t)
	// A lease of 1.5 s, renewed every 500 ms: a lapse needs the worker's process to stall
	// for over a second. Beside another package's tests under the race detector, stalls of
	// 700-850 ms were seen (every timer of the process late at once), enough to lapse a
	// lease of 600 ms.
	h, addr := startHub(t, hub.Config{Lease: 1500 * time.Millisecond})
	hw := &hub.Worker{Service: "long", Pollers: 2, Wait: time.Second}
	srv := jesus.NewServer("long")
	runs := make(chan struct{}, 4)
	jesus.Handle(srv, "run", func(ctx context.Context, req map[string]any) (string, error) {
		runs <- struct{}{}
		t := time.NewTimer(3500 * time.Millisecond) // more than two leases
		defer t.Stop()
		select {
		case <-t.C:
			return "done", nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	})
	if _, err := srv.ListenVia(testCtx(t), hw, "json", addr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	eventually(t, "the worker polling", func() bool { return h.Stats().Waiting == 2 })
	code, _, body := post(t, "http://"+addr+"/service/long.run", `{}`)
	if code != 200 || body != `"done"` {
		t.Fatalf("long call: %d %s", code, body)
	}
	if s := h.Stats(); s.Lapsed != 0 || len(runs) != 1 {
		t.Fatalf("lapsed %d, runs %d", s.Lapsed, len(runs))
	}
	if code, _, body := post(t, "http://"+addr+"/jobs/nope/lease", ``); code != 404 || !strings.Contains(body, "no open job") {
		t.Fatalf("renewing an unknown job: %d %s", code, body)
	}
}
