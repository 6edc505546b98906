package sidecar_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel/channeltest"
	jdisc "github.com/jesus-go/jesus/jesus/discovery"

	"github.com/jesus-go/jesus/gateway/sidecar"
	"github.com/jesus-go/jesus/jesus"
)

// receiverClient calls the registry's services as a Go service would, checking requests
// before they leave only when validate is set.
func receiverClient(t testing.TB, e *env, validate bool) *jesus.Client {
	t.Helper()
	disc := jdisc.New(e.cache)
	t.Cleanup(disc.Close)
	opts := []jesus.Option{jesus.WithResolver(disc)}
	if validate {
		opts = append(opts, jesus.WithValidation(disc))
	}
	c := jesus.NewClient("tester", opts...)
	t.Cleanup(func() { c.Close() })
	return c
}

func TestAppServes(t *testing.T) {
	e := startEnv(t, nil)
	a := startGoApp(t)
	info := registerGoApp(t, e, a, nil)
	if info["registered"] != true || info["version"] != "1.0.0" {
		t.Fatalf("info %v", info)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl := receiverClient(t, e, true)

	t.Run("response over http+json", func(t *testing.T) {
		got, err := jesus.Call[map[string]any, map[string]any](ctx, cl, "greeter.hello", map[string]any{"name": "Ada"})
		if err != nil || got["greeting"] != "hello Ada" {
			t.Fatalf("got %v, %v", got, err)
		}
	})
	t.Run("stream over tcp+msgpack", func(t *testing.T) {
		n := 0
		for item, err := range jesus.Stream[map[string]any, map[string]int](ctx, cl, "greeter.count", map[string]any{"n": 4}) {
			if err != nil {
				t.Fatal(err)
			}
			n++
			if item["i"] != n {
				t.Fatalf("item %d: %v", n, item)
			}
		}
		if n != 4 {
			t.Fatalf("%d items", n)
		}
	})
	t.Run("ack over unix+json", func(t *testing.T) {
		if err := jesus.Ack(ctx, cl, "greeter.note", map[string]any{"text": "hi"}); err != nil {
			t.Fatal(err)
		}
		channeltest.Eventually(t, 5*time.Second, "note reached the app", func() bool { return len(a.reached("note")) == 1 })
	})
	t.Run("an invalid request never reaches the app", func(t *testing.T) {
		raw := receiverClient(t, e, false) // sends without checking: the sidecar's server must refuse
		before := len(a.reached("hello"))
		_, err := jesus.Call[map[string]any, map[string]any](ctx, raw, "greeter.hello", map[string]any{"name": ""})
		je := jesus.AsError(err)
		if je == nil || je.Code != jesus.CodeInvalidArgument || len(je.Failures) == 0 || je.Failures[0].Pointer != "/name" {
			t.Fatalf("got %#v", err)
		}
		if got := a.reached("hello"); len(got) != before {
			t.Fatalf("the app got %v", got[before:])
		}
	})
	appErrorsComeBack(t, ctx, cl)
	t.Run("through the sidecar's own API", func(t *testing.T) {
		r := e.do(t, "POST", "/v1/call/greeter.hello", []byte(`{"name":"Cy"}`), nil)
		if r.status != 200 || strings.TrimSpace(string(r.body)) != `{"greeting":"hello Cy"}` {
			t.Fatalf("got %d %s", r.status, r.body)
		}
		r = e.do(t, "POST", "/v1/call/greeter.hello", []byte(`{"name":"Cy","waitMs":60000}`), map[string]string{"Jesus-Timeout": "200"})
		wantError(t, r, 504, "deadline_exceeded")
	})
	st := e.sc.Stats()
	if st.Forwarded["greeter.hello"].Count < 4 || st.Forwarded["greeter.count"].Count != 1 {
		t.Fatalf("stats %+v", st.Forwarded)
	}
}

// appErrorsComeBack: what goes wrong at the app reaches a caller (through cl) with its code.
func appErrorsComeBack(t *testing.T, ctx context.Context, cl *jesus.Client) {
	for _, tc := range []struct {
		name    string
		req     map[string]any
		timeout time.Duration // 0: ctx's
		code    jesus.Code
		has     string
	}{
		{"the app's error comes back with its code", map[string]any{"name": "nobody"}, 0, jesus.CodeNotFound, "nobody is not here"},
		{"a response that breaks the app's schema is refused", map[string]any{"name": "liar"}, 0, jesus.CodeInternal, ""},
		{"a slow app meets the caller's deadline", map[string]any{"name": "Bo", "waitMs": 60000}, 300 * time.Millisecond, jesus.CodeDeadlineExceeded, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cctx := ctx
			if tc.timeout > 0 {
				var ccancel context.CancelFunc
				cctx, ccancel = context.WithTimeout(ctx, tc.timeout)
				defer ccancel()
			}
			_, err := jesus.Call[map[string]any, map[string]any](cctx, cl, "greeter.hello", tc.req)
			if jesus.CodeOf(err) != tc.code || !strings.Contains(fmt.Sprint(err), tc.has) {
				t.Fatalf("got %v", err)
			}
		})
	}
}

// An app that never answers is cut off at the sidecar's AppTimeout even when the caller
// set no deadline.
func TestAppNeverAnswers(t *testing.T) {
	e := startEnv(t, func(c *sidecar.Config) { c.AppTimeout = 300 * time.Millisecond })
	a := startGoApp(t)
	registerGoApp(t, e, a, nil)
	r := e.do(t, "POST", "/v1/call/greeter.hello", []byte(`{"name":"Di","waitMs":600000}`), map[string]string{"Jesus-Timeout": "0"})
	wantError(t, r, 504, "deadline_exceeded", "greeter@1.0.0", "did not answer")
}

// The health check takes an app out of the registry within one interval, and back.
func TestAppHealth(t *testing.T) {
	e := startEnv(t, nil)
	a := startGoApp(t)
	registerGoApp(t, e, a, map[string]any{"intervalMs": 300})
	a.healthy.Store(false)
	start := time.Now()
	channeltest.Eventually(t, 5*time.Second, "greeter deregistered", func() bool { return len(e.cache.Instances("greeter")) == 0 })
	if d := time.Since(start); d > 300*time.Millisecond+200*time.Millisecond {
		t.Fatalf("deregistered after %v, interval 300ms", d)
	}
	a.healthy.Store(true)
	channeltest.Eventually(t, 5*time.Second, "greeter back", func() bool { return len(e.cache.Instances("greeter")) == 1 })
	// The sidecar notes the registration once etcd confirmed it, which the cache may see
	// a moment before.
	var r reply
	channeltest.Eventually(t, 5*time.Second, "greeter shown registered", func() bool {
		r = e.do(t, "GET", "/v1/apps", nil, nil)
		return r.status == 200 && strings.Contains(string(r.body), `"registered":true`)
	})
	// A stopped app: the same.
	a.stop()
	start = time.Now()
	channeltest.Eventually(t, 5*time.Second, "greeter gone", func() bool { return len(e.cache.Instances("greeter")) == 0 })
	t.Logf("gone %v after the app stopped (interval 300ms)", time.Since(start))
	r = e.do(t, "DELETE", "/v1/apps/greeter", nil, nil)
	if r.status != http.StatusNoContent {
		t.Fatalf("delete %d %s", r.status, r.body)
	}
	wantError(t, e.do(t, "DELETE", "/v1/apps/greeter", nil, nil), 404, "not_found", "greeter")
}

func TestAppRegisterBadInput(t *testing.T) {
	e := startEnv(t, func(c *sidecar.Config) { c.MaxBody = 8 << 10 })
	startClock(t, e)
	desc := `{"service":"greeter","version":"1.0.0","channels":{"rpc":"http+json"},"methods":{}}`
	cases := []struct {
		name, path, body string
		status           int
		code             string
		parts            []string
	}{
		{"not JSON", "/v1/apps/greeter", `{"descriptor":`, 400, "invalid_argument", []string{"not a JSON object"}},
		{"name differs", "/v1/apps/other", `{"descriptor":` + desc + `,"url":"http://127.0.0.1:1"}`, 400, "invalid_argument", []string{`"other"`}},
		{"bad descriptor", "/v1/apps/greeter", `{"descriptor":{"service":"greeter","version":"one"},"url":"http://127.0.0.1:1"}`, 400, "invalid_argument", []string{"greeter"}},
		{"bad url", "/v1/apps/greeter", `{"descriptor":` + desc + `,"url":"ftp://x"}`, 400, "invalid_argument", []string{"ftp://x"}},
		{"oversized", "/v1/apps/greeter", `{"descriptor":` + desc + `,"url":"` + strings.Repeat("x", 9000) + `"}`, 413, "resource_exhausted", []string{"limit"}},
		{"incompatible", "/v1/apps/greeter", `{"descriptor":{"service":"greeter","version":"1.0.0","channels":{"rpc":"http+json"},` +
			`"calls":{"clock.now":{"request":{"type":"object"},"response":{"type":"object"}}}},"url":"http://127.0.0.1:1"}`, 409, "incompatible", []string{"clock"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, e.do(t, "PUT", c.path, []byte(c.body), nil), c.status, c.code, c.parts...)
		})
	}
	if n := len(e.cache.Instances("greeter")); n != 0 {
		t.Fatalf("%d greeter instances", n)
	}
}

// An app that opens no port: it serves on a unix socket the sidecar reaches.
func TestAppOnUnixSocket(t *testing.T) {
	e := startEnv(t, nil)
	sock := filepath.Join(shortDir(t), "app.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	a := serveGoApp(t, ln)
	a.url = "unix://" + sock
	registerGoApp(t, e, a, nil)
	r := e.do(t, "POST", "/v1/call/greeter.hello", []byte(`{"name":"Ux"}`), nil)
	if r.status != 200 || strings.TrimSpace(string(r.body)) != `{"greeting":"hello Ux"}` {
		t.Fatalf("got %d %s", r.status, r.body)
	}
	if apps := e.sc.Apps(); len(apps) != 1 || !apps[0].Registered || apps[0].HealthCheck != "http://app/health" {
		t.Fatalf("apps %+v", apps)
	}
}

// Request bodies held by calls in flight are bounded in total, not only one by one.
func TestBodiesInFlightBounded(t *testing.T) {
	e := startEnv(t, func(c *sidecar.Config) { c.MaxBody = 4000; c.MaxBodies = 8000 })
	a := startGoApp(t)
	registerGoApp(t, e, a, nil)
	body := []byte(`{"name":"Slow","waitMs":60000}` + strings.Repeat(" ", 3500))
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.do(t, "POST", "/v1/call/greeter.hello", body, map[string]string{"Jesus-Timeout": "3000"})
		}()
	}
	channeltest.Eventually(t, 10*time.Second, "two slow calls at the app", func() bool { return len(a.reached("hello")) == 2 })
	wantError(t, e.do(t, "POST", "/v1/call/greeter.hello", body, nil), 429, "resource_exhausted", "bytes of request bodies in flight, the limit is 8000")
	// A small one still fits.
	r := e.do(t, "POST", "/v1/call/greeter.hello", []byte(`{"name":"Quick"}`), nil)
	if r.status != 200 {
		t.Fatalf("got %d %s", r.status, r.body)
	}
	wg.Wait()
	// Their bodies were given back.
	r = e.do(t, "POST", "/v1/call/greeter.hello", []byte(`{"name":"Big"}`+strings.Repeat(" ", 3500)), nil)
	if r.status != 200 {
		t.Fatalf("after the slow calls: %d %s", r.status, r.body)
	}
}
