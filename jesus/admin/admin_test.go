package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/jesus/admin"
	"github.com/jesus-go/jesus/jesus/internal/jesustest"
	"github.com/prometheus/client_golang/prometheus"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b)
}

func TestHealthAndReadiness(t *testing.T) {
	channeltest.CheckLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := jesus.NewServer("calc")
	if _, err := s.Listen(ctx, "tcp+msgpack://127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	var compatOK atomic.Bool
	a := admin.New(prometheus.NewRegistry())
	a.AddServer(s)
	a.AddCheck("compat", func() error {
		if !compatOK.Load() {
			return errors.New("caller shop@1.2.0 incompatible with calc@2.0.0: /properties/qty")
		}
		return nil
	})
	addr, err := a.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	base := "http://" + addr

	if code, body := get(t, base+"/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("healthz: %d %q", code, body)
	}
	code, body := get(t, base+"/readyz")
	if code != 503 || !strings.Contains(body, "compat: caller shop@1.2.0") {
		t.Fatalf("readyz with a failing compat check: %d %q", code, body)
	}
	compatOK.Store(true)
	if code, body := get(t, base+"/readyz"); code != 200 {
		t.Fatalf("readyz once compatible: %d %q", code, body)
	}
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	code, body = get(t, base+"/readyz")
	if code != 503 || !strings.Contains(body, "server calc is draining") {
		t.Fatalf("readyz after shutdown: %d %q", code, body)
	}
	if code, _ := get(t, base+"/healthz"); code != 200 {
		t.Fatalf("healthz after shutdown: %d", code)
	}
	if code, _ := get(t, base+"/metrics"); code != 200 {
		t.Fatalf("metrics: %d", code)
	}
	res, err := http.Post(base+"/healthz", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST /healthz: %d", res.StatusCode)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil { // repeat-safe
		t.Fatal(err)
	}
}

func TestRequestLog(t *testing.T) {
	channeltest.CheckLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var mu channeltest.SyncBuffer
	log := slog.New(slog.NewJSONHandler(&mu, nil))
	s := jesus.NewServer("calc", jesus.WithInterceptors(admin.RequestLog(log)))
	jesus.Handle(s, "fail", func(context.Context, int) (int, error) {
		return 0, jesus.NewError(jesus.CodeNotFound, "no such thing")
	})
	bound, err := s.Listen(ctx, "tcp+msgpack://127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	trace := jesustest.Traceparent
	c := jesus.NewClient("tester", jesus.WithTarget(bound.String()), jesus.WithInterceptors(jesustest.SetTrace(trace)))
	defer c.Close()
	_, err = jesus.Call[int, int](jesus.WithCorrID(ctx, "c-1"), c, "calc.fail", 1)
	if jesus.CodeOf(err) != jesus.CodeNotFound {
		t.Fatal(err)
	}
	var line map[string]any
	if err := json.Unmarshal(mu.Bytes(), &line); err != nil {
		t.Fatalf("log line %q: %v", mu.Bytes(), err)
	}
	for k, v := range map[string]any{"level": "WARN", "side": "server", "method": "calc.fail", "code": "not_found", "corrid": "c-1", "mode": "response",
		"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"} {
		if line[k] != v {
			t.Errorf("%s = %v, want %v (line %v)", k, line[k], v, line)
		}
	}
	if _, ok := line["duration"]; !ok {
		t.Errorf("no duration in %v", line)
	}
}
