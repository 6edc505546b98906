package sidecar_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jdisc "github.com/jesus-go/jesus/jesus/discovery"

	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/events"
	"github.com/jesus-go/jesus/gateway/async"
	"github.com/jesus-go/jesus/gateway/sidecar"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/registry"
	"github.com/jesus-go/jesus/schema/registry/registrytest"
)

// env is an etcd, a sidecar served on TCP and a unix socket, and clients of both.
type env struct {
	reg   *registry.Registry
	cache *registry.Cache
	sc    *sidecar.Sidecar
	base  string       // http://127.0.0.1:port
	sock  string       // unix socket path
	http  *http.Client // over TCP
	unix  *http.Client // over the unix socket (base "http://sidecar")
	set   *schema.Set  // testdata/services
}

// shortDir is a temporary directory with a short path: unix socket paths are limited to
// about 100 bytes, and t.TempDir's can be longer.
func shortDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// startRegistry starts an etcd and loads testdata/services; etcd's endpoints are returned
// for a sidecar in another process.
func startRegistry(t testing.TB) (*env, []string) {
	t.Helper()
	channeltest.CheckLeaks(t)                   // first, so that its check runs after every other cleanup
	emb, reg, cache := registrytest.Start(t, 0) // the default lease: a loaded machine must not lose it
	set, err := schema.LoadDir(filepath.Join("testdata", "services"))
	if err != nil {
		t.Fatal(err)
	}
	return &env{reg: reg, cache: cache, set: set}, emb.Endpoints()
}

// unixClient is an HTTP client whose every request goes to the unix socket sock.
func unixClient(t testing.TB, sock string) *http.Client {
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// startEnv starts an etcd and a sidecar in this process, served on TCP and a unix socket.
func startEnv(t testing.TB, mod func(*sidecar.Config)) *env {
	t.Helper()
	e, _ := startRegistry(t)
	reg, cache := e.reg, e.cache
	dir := shortDir(t)
	cfg := sidecar.Config{Registry: reg, Cache: cache, SocketDir: dir, HealthInterval: 200 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	sc, err := sidecar.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sidecar.sock")
	ul, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, ln := range []net.Listener{tl, ul} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = sc.Serve(ln)
		}()
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = sc.Shutdown(ctx)
		wg.Wait()
	})
	ttr := &http.Transport{Proxy: nil}
	t.Cleanup(ttr.CloseIdleConnections)
	e.sc, e.base, e.sock = sc, "http://"+tl.Addr().String(), sock
	e.http, e.unix = &http.Client{Transport: ttr}, unixClient(t, sock)
	return e
}

// reply is an API answer read whole.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("reply %d is not a JSON object: %v: %s", r.status, err, r.body)
	}
	return m
}

// do sends one API request over TCP.
func (e *env) do(t testing.TB, method, path string, body []byte, h map[string]string) reply {
	t.Helper()
	return doOn(t, e.http, e.base, method, path, body, h)
}

func doOn(t testing.TB, c *http.Client, base, method, path string, body []byte, h map[string]string) reply {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading: %v", method, path, err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

// wantError checks an error reply: status, Jesus-Error-Code, code in the body, and that
// the message contains each of parts.
func wantError(t testing.TB, r reply, status int, code string, parts ...string) map[string]any {
	t.Helper()
	if r.status != status || r.header.Get("Jesus-Error-Code") != code {
		t.Fatalf("got %d %q %s, want %d %s", r.status, r.header.Get("Jesus-Error-Code"), r.body, status, code)
	}
	m := r.json(t)
	if m["code"] != code {
		t.Fatalf("body code %v, want %s: %s", m["code"], code, r.body)
	}
	msg, _ := m["message"].(string)
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Fatalf("message %q does not name %q", msg, p)
		}
	}
	return m
}

// clock is the Go service of testdata/services/clock.json.
type clock struct {
	srv     *jesus.Server
	bus     *events.Bus
	greeted chan events.Event[map[string]any]
}

func startClock(t testing.TB, e *env) *clock {
	t.Helper()
	ctx := context.Background()
	d := e.set.Service("clock")
	srv := jesus.NewServer("clock", jesus.WithValidation(jesus.ServiceSchemas(e.set, d.Service, d.Version)))
	t.Cleanup(func() { srv.Close() })
	jesus.Handle(srv, "clock.now", func(ctx context.Context, req struct {
		Zone string `json:"zone" msgpack:"zone"`
	}) (map[string]any, error) {
		return map[string]any{"zone": req.Zone, "unix": 1767225600}, nil
	})
	jesus.HandleStream(srv, "clock.ticks", func(ctx context.Context, req struct {
		N int `json:"n" msgpack:"n"`
	}, send func(map[string]int) error) error {
		for i := 1; i <= req.N; i++ {
			if err := send(map[string]int{"i": i}); err != nil {
				return err
			}
		}
		return nil
	})
	jesus.Handle(srv, "clock.echo", func(ctx context.Context, req map[string]any) (map[string]any, error) {
		return req, nil
	})
	// later answers to the caller's response hook, after the ack.
	answers := async.NewResponder(async.ResponderConfig{})
	t.Cleanup(func() { answers.Shutdown(context.Background()) })
	async.Handle(srv, "clock.remind", answers, func(ctx context.Context, req struct {
		Zone string `json:"zone" msgpack:"zone"`
	}) (map[string]any, error) {
		if req.Zone == "nowhere" {
			return nil, jesus.NewError(jesus.CodeNotFound, "no zone nowhere")
		}
		return map[string]any{"zone": req.Zone, "unix": 1767225600}, nil
	})
	// bad answers what its own schema forbids: the server turns it into internal.
	jesus.Handle(srv, "clock.bad", func(ctx context.Context, req map[string]any) (map[string]any, error) {
		return map[string]any{"ok": "yes"}, nil
	})
	disc := jdisc.New(e.cache)
	t.Cleanup(disc.Close)
	bus, err := events.New(d, e.set, disc, nil, srv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bus.Close() })
	c := &clock{srv: srv, bus: bus, greeted: make(chan events.Event[map[string]any], 16)}
	if err := events.On(bus, "greeted", func(ctx context.Context, ev events.Event[map[string]any]) error {
		c.greeted <- ev
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	dir := shortDir(t)
	if err := srv.ListenDescriptor(ctx, d, jesus.LoopbackAddrs(dir)); err != nil {
		t.Fatal(err)
	}
	if _, err := jdisc.Register(ctx, srv, e.reg, d); err != nil {
		t.Fatal(err)
	}
	channeltest.Eventually(t, 10*time.Second, "clock registered", func() bool { return len(e.cache.Instances("clock")) > 0 })
	return c
}

// goApp is the greeter app of testdata/services/greeter.json written in Go, served over
// plain HTTP on loopback as an app in any language would be.
type goApp struct {
	url     string
	healthy atomic.Bool
	mu      sync.Mutex
	got     []string // "method body" of every request that reached the app
	pushed  chan []byte
	stop    func()
}

func startGoApp(t testing.TB) *goApp {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := serveGoApp(t, ln)
	a.url = "http://" + ln.Addr().String()
	return a
}

// serveGoApp serves the app on ln.
func serveGoApp(t testing.TB, ln net.Listener) *goApp {
	t.Helper()
	a := &goApp{pushed: make(chan []byte, 64)}
	a.healthy.Store(true)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /hello", a.hello)
	mux.HandleFunc("POST /count", a.count)
	mux.HandleFunc("POST /note", a.note)
	mux.HandleFunc("POST /events/tick", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		a.pushed <- b
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		if !a.healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "ok")
	})
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = hs.Serve(ln)
	}()
	var once sync.Once
	a.stop = func() {
		once.Do(func() {
			_ = hs.Close()
			<-done
		})
	}
	t.Cleanup(a.stop)
	return a
}

// record notes the request (method and body) and returns its body.
func (a *goApp) record(r *http.Request) []byte {
	b, _ := io.ReadAll(r.Body)
	a.mu.Lock()
	a.got = append(a.got, strings.TrimPrefix(r.URL.Path, "/")+" "+string(b))
	a.mu.Unlock()
	return b
}

// hello greets by name, after waitMs; "nobody" is not found and "liar" gets a greeting
// that breaks the schema.
func (a *goApp) hello(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name   string
		WaitMS int `json:"waitMs"`
	}
	_ = json.Unmarshal(a.record(r), &req)
	if req.WaitMS > 0 {
		select {
		case <-time.After(time.Duration(req.WaitMS) * time.Millisecond):
		case <-r.Context().Done():
			return
		}
	}
	if req.Name == "nobody" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"code":"not_found","message":"greeter: nobody is not here"}`)
		return
	}
	if req.Name == "liar" {
		fmt.Fprint(w, `{"greeting": 42}`)
		return
	}
	fmt.Fprintf(w, `{"greeting":"hello %s"}`, req.Name)
}

// count streams N items, then the end.
func (a *goApp) count(w http.ResponseWriter, r *http.Request) {
	var req struct{ N int }
	_ = json.Unmarshal(a.record(r), &req)
	w.Header().Set("Content-Type", "application/x-ndjson")
	bw := bufio.NewWriter(w)
	for i := 1; i <= req.N; i++ {
		fmt.Fprintf(bw, "{\"item\":{\"i\":%d}}\n", i)
	}
	fmt.Fprint(bw, "{\"end\":{}}\n")
	bw.Flush()
}

// note takes a one-way call and notes the response hook a caller sent with it.
func (a *goApp) note(w http.ResponseWriter, r *http.Request) {
	a.record(r)
	if h := r.Header.Get("Jesus-Hook"); h != "" { // a caller wants the answer later
		a.mu.Lock()
		a.got = append(a.got, "hook "+h+" "+r.Header.Get("Jesus-Hook-Id"))
		a.mu.Unlock()
	}
	w.WriteHeader(http.StatusNoContent)
}

// reached reports the requests that reached the app for method.
func (a *goApp) reached(method string) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, g := range a.got {
		if strings.HasPrefix(g, method+" ") {
			out = append(out, strings.TrimPrefix(g, method+" "))
		}
	}
	return out
}

// registerGoApp registers the Go greeter through the API over the unix socket.
func registerGoApp(t testing.TB, e *env, a *goApp, extra map[string]any) map[string]any {
	t.Helper()
	desc, err := os.ReadFile(filepath.Join("testdata", "services", "greeter.json"))
	if err != nil {
		t.Fatal(err)
	}
	body := map[string]any{"descriptor": json.RawMessage(desc), "url": a.url, "healthcheck": "/health", "intervalMs": 200}
	for k, v := range extra {
		body[k] = v
	}
	b, _ := json.Marshal(body)
	r := doOn(t, e.unix, "http://sidecar", http.MethodPut, "/v1/apps/greeter", b, nil)
	if r.status != http.StatusOK {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	channeltest.Eventually(t, 10*time.Second, "greeter registered", func() bool { return len(e.cache.Instances("greeter")) > 0 })
	return r.json(t)
}
