package sidecar_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/events"
	"github.com/jesus-go/jesus/gateway/sidecar"
)

// sseClient is one GET /v1/events subscription.
type sseClient struct {
	resp   *http.Response
	br     *bufio.Reader
	cancel context.CancelFunc
}

func subscribeSSE(t testing.TB, c *http.Client, base, query string) *sseClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/v1/events?"+query, nil)
	resp, err := c.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	s := &sseClient{resp: resp, br: bufio.NewReader(resp.Body), cancel: cancel}
	t.Cleanup(s.close)
	if resp.StatusCode != 200 {
		t.Fatalf("subscribe: %d", resp.StatusCode)
	}
	if line, err := s.br.ReadString('\n'); err != nil || line != ": subscribed\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	s.br.ReadString('\n')
	return s
}

func (s *sseClient) close() { s.cancel(); s.resp.Body.Close() }

// next reads one event: its name, id and data.
func (s *sseClient) next(t testing.TB) (event, id string, data map[string]any) {
	t.Helper()
	for {
		line, err := s.br.ReadString('\n')
		if err != nil {
			t.Fatalf("sse: %v", err)
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case strings.HasPrefix(line, "event: "):
			event = line[7:]
		case strings.HasPrefix(line, "id: "):
			id = line[4:]
		case strings.HasPrefix(line, "data: "):
			if err := json.Unmarshal([]byte(line[6:]), &data); err != nil {
				t.Fatal(err)
			}
		case line == "" && event != "":
			return event, id, data
		}
	}
}

func TestEvents(t *testing.T) {
	e := startEnv(t, nil)
	c := startClock(t, e)
	a := startGoApp(t)
	registerGoApp(t, e, a, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	t.Run("the app emits, a Go listener gets it", func(t *testing.T) {
		r := e.do(t, "POST", "/v1/emit/greeted", []byte(`{"name":"Ada"}`), map[string]string{"Jesus-Corrid": "c-9"})
		m := r.json(t)
		if r.status != 200 || len(m["acked"].([]any)) != 1 || m["acked"].([]any)[0] != "clock" {
			t.Fatalf("got %d %s", r.status, r.body)
		}
		select {
		case ev := <-c.greeted:
			if ev.Payload["name"] != "Ada" || ev.From != "greeter" || ev.CorrID != "c-9" || ev.ID != m["id"] {
				t.Fatalf("event %+v", ev)
			}
		case <-ctx.Done():
			t.Fatal("clock did not get greeted")
		}
	})
	t.Run("an invalid payload is refused before it leaves", func(t *testing.T) {
		r := e.do(t, "POST", "/v1/emit/greeted", []byte(`{"name":""}`), nil)
		wantError(t, r, 400, "invalid_argument")
		wantError(t, e.do(t, "POST", "/v1/emit/nosuch", []byte(`{}`), nil), 404, "not_found", `"nosuch"`)
		wantError(t, e.do(t, "POST", "/v1/emit/tick", []byte(`{"n":1}`), map[string]string{"Jesus-From": "greeter"}), 404, "not_found", "greeter@1.0.0", `"tick"`)
		wantError(t, e.do(t, "POST", "/v1/emit/greeted", []byte(`{"name":`), nil), 400, "invalid_argument", "offset")
	})
	t.Run("a Go emit reaches the app by push and by SSE", func(t *testing.T) {
		sse := subscribeSSE(t, e.unix, "http://sidecar", "name=tick")
		res, err := events.Emit(ctx, c.bus, "tick", map[string]int{"n": 7})
		if err != nil || len(res.Acked) != 1 || res.Acked[0] != "greeter" {
			t.Fatalf("emit: %+v %v", res, err)
		}
		name, id, data := sse.next(t)
		if name != "tick" || id != res.ID || data["service"] != "greeter" || data["from"] != "clock" {
			t.Fatalf("sse %s %s %v", name, id, data)
		}
		if p, _ := data["payload"].(map[string]any); p["n"] != float64(7) {
			t.Fatalf("payload %v", data["payload"])
		}
		select {
		case b := <-a.pushed:
			if string(b) != `{"n":7}` {
				t.Fatalf("pushed %s", b)
			}
		case <-ctx.Done():
			t.Fatal("no push")
		}
	})
	t.Run("emit as a published service that is no app here", func(t *testing.T) {
		r := e.do(t, "POST", "/v1/emit/tick", []byte(`{"n":8}`), map[string]string{"Jesus-From": "clock"})
		if r.status != 200 || !strings.Contains(string(r.body), `"acked":["greeter"]`) {
			t.Fatalf("got %d %s", r.status, r.body)
		}
	})
	t.Run("subscribing to what no app listens to", func(t *testing.T) {
		wantError(t, e.do(t, "GET", "/v1/events?name=greeted", nil, nil), 404, "not_found", `"greeted"`)
		wantError(t, e.do(t, "GET", "/v1/events", nil, nil), 400, "invalid_argument", "name=")
	})
	// The push runs after the ack: it is counted a moment after the emit returned.
	channeltest.Eventually(t, 5*time.Second, "two pushes counted", func() bool { return e.sc.Stats().Pushed == 2 })
	if st := e.sc.Stats(); st.Emits["greeted"].Count < 2 || st.Emits["greeted"].Errors["invalid_argument"] != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestWebSocket(t *testing.T) {
	e := startEnv(t, nil)
	c := startClock(t, e)
	a := startGoApp(t)
	registerGoApp(t, e, a, map[string]any{"push": false})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.base, "http")+"/v1/ws?name=tick&from=greeter", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	read := func() map[string]any {
		_, b, err := ws.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	// Publish.
	if err := ws.Write(ctx, websocket.MessageText, []byte(`{"type":"emit","ref":"r1","event":"greeted","payload":{"name":"Ws"}}`)); err != nil {
		t.Fatal(err)
	}
	m := read()
	if m["type"] != "result" || m["ref"] != "r1" || !strings.Contains(mustJSON(m["result"]), `"acked":["clock"]`) {
		t.Fatalf("got %v", m)
	}
	if ev := <-c.greeted; ev.Payload["name"] != "Ws" {
		t.Fatalf("clock got %v", ev.Payload)
	}
	// Bad messages get errors, the socket stays.
	for _, bad := range []string{`{"type":"emit","event":"greeted","payload":{"name":""}}`, `not json`, `{"type":"subscribe"}`} {
		if err := ws.Write(ctx, websocket.MessageText, []byte(bad)); err != nil {
			t.Fatal(err)
		}
		if m := read(); m["type"] != "error" {
			t.Fatalf("%s: got %v", bad, m)
		}
	}
	// Subscribe.
	if _, err := events.Emit(ctx, c.bus, "tick", map[string]int{"n": 3}); err != nil {
		t.Fatal(err)
	}
	m = read()
	ev, _ := m["event"].(map[string]any)
	if m["type"] != "event" || ev["event"] != "tick" || ev["payload"].(map[string]any)["n"] != float64(3) {
		t.Fatalf("got %v", m)
	}
	select {
	case <-a.pushed:
		t.Fatal("pushed although push is off")
	default:
	}
	// Over the message limit: the socket is closed with an error.
	big := `{"type":"emit","event":"greeted","payload":{"name":"` + strings.Repeat("x", 5<<20) + `"}}`
	_ = ws.Write(ctx, websocket.MessageText, []byte(big))
	for {
		if _, _, err := ws.Read(ctx); err != nil {
			break
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Many waiting SSE clients cost a bounded buffer each; over the limit they are refused;
// clients that go away leave no goroutine behind.
func TestManySubscribers(t *testing.T) {
	const n = 1000
	e := startEnv(t, func(c *sidecar.Config) { c.MaxSubscribers = n; c.SubscriberBuffer = 4 })
	c := startClock(t, e)
	a := startGoApp(t)
	registerGoApp(t, e, a, map[string]any{"push": false})
	base := runtime.NumGoroutine()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	subs := make([]*sseClient, n)
	for i := range subs {
		subs[i] = subscribeSSE(t, e.unix, "http://sidecar", "name=tick&service=greeter")
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	// Both ends of every connection are in this process: the figure is an upper bound.
	t.Logf("%d waiting SSE clients: %d goroutines, heap %+d KiB (%d bytes each, client and server side)",
		n, runtime.NumGoroutine()-base, (int64(after.HeapInuse)-int64(before.HeapInuse))/1024, (int64(after.HeapInuse)-int64(before.HeapInuse))/n)
	if st := e.sc.Stats(); st.Subscribers != n {
		t.Fatalf("%d subscribers", st.Subscribers)
	}
	wantError(t, doOn(t, e.unix, "http://sidecar", "GET", "/v1/events?name=tick", nil, nil), 429, "resource_exhausted", "1000")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// One event reaches every waiting subscriber (drops of slow ones: hub_internal_test.go).
	if _, err := events.Emit(ctx, c.bus, "tick", map[string]int{"n": 1}); err != nil {
		t.Fatal(err)
	}
	for _, s := range subs {
		if name, _, _ := s.next(t); name != "tick" {
			t.Fatalf("got %s", name)
		}
	}
	for _, s := range subs {
		s.close()
	}
	channeltest.Eventually(t, 10*time.Second, "subscribers gone", func() bool { return e.sc.Stats().Subscribers == 0 })
	e.unix.Transport.(*http.Transport).CloseIdleConnections()
	// A count with slack, not a goroutine-by-goroutine check: the emit leaves the bus's
	// pooled connection and its sweeper running until the env closes (startEnv's
	// CheckLeaks checks every goroutine then).
	channeltest.Eventually(t, 10*time.Second, "goroutines back", func() bool { return runtime.NumGoroutine() <= base+10 })
}

// A WebSocket, subscribed or not, ends when the sidecar shuts down, and Shutdown waits
// for its handler.
func TestWebSocketShutdown(t *testing.T) {
	e := startEnv(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.base, "http")+"/v1/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	read := make(chan error, 1)
	go func() {
		_, _, err := ws.Read(ctx)
		read <- err
	}()
	if err := e.sc.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-read:
		if websocket.CloseStatus(err) != websocket.StatusGoingAway {
			t.Fatalf("read: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("the socket stayed open after Shutdown")
	}
}
