package metrics_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/jesus/admin"
	"github.com/jesus-go/jesus/jesus/metrics"
	"github.com/prometheus/client_golang/prometheus"
)

func ctxT(t *testing.T) context.Context { return channeltest.Context(t, 20*time.Second) }

// start serves a "calc" service with metrics on, over spec, and returns a client with
// metrics on that targets it.
func start(t *testing.T, m *metrics.Metrics, spec string) (*jesus.Server, *jesus.Client) {
	t.Helper()
	s := jesus.NewServer("calc", m.Option())
	jesus.Handle(s, "div", func(_ context.Context, r [2]int) (int, error) {
		if r[1] == 0 {
			return 0, jesus.NewError(jesus.CodeInvalidArgument, "division by zero")
		}
		return r[0] / r[1], nil
	})
	jesus.HandleOneWay(s, "note", func(context.Context, string) error { return nil })
	jesus.HandleStream(s, "count", func(_ context.Context, n int, send func(int) error) error {
		for i := 0; i < n; i++ {
			if err := send(i); err != nil {
				return err
			}
		}
		return nil
	})
	bound, err := s.Listen(ctxT(t), spec)
	if err != nil {
		t.Fatal(err)
	}
	c := jesus.NewClient("tester", jesus.WithTarget(bound.String()), m.Option())
	t.Cleanup(func() {
		c.Close()
		s.Close()
	})
	return s, c
}

// startCollected starts a calc server and a client "tester" of it over tcp, both collected
// by a metrics.Metrics registered in the registry it returns.
func startCollected(t *testing.T) (*prometheus.Registry, *jesus.Client) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	s, c := start(t, m, "tcp+msgpack://127.0.0.1:0")
	if err := m.AddServer(s); err != nil {
		t.Fatal(err)
	}
	if err := m.AddClient("tester", c); err != nil {
		t.Fatal(err)
	}
	return reg, c
}

func TestCallsCountedOnBothEnds(t *testing.T) {
	channeltest.CheckLeaks(t)
	reg, c := startCollected(t)
	ctx := ctxT(t)
	for i := 0; i < 3; i++ {
		if _, err := jesus.Call[[2]int, int](ctx, c, "calc.div", [2]int{6, 3}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := jesus.Call[[2]int, int](ctx, c, "calc.div", [2]int{1, 0}); jesus.CodeOf(err) != jesus.CodeInvalidArgument {
		t.Fatalf("div by zero: %v", err)
	}
	if err := jesus.Ack(ctx, c, "calc.note", "hi"); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, err := range jesus.Stream[int, int](ctx, c, "calc.count", 4) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 4 {
		t.Fatalf("stream gave %d items", n)
	}

	text := scrape(t, reg)
	for _, w := range []string{
		`jesus_requests_total{channel="tcp+msgpack",code="ok",method="calc.div",mode="response",service="calc",side="client"} 3`,
		`jesus_requests_total{channel="tcp+msgpack",code="ok",method="calc.div",mode="response",service="calc",side="server"} 3`,
		`jesus_requests_total{channel="tcp+msgpack",code="invalid_argument",method="calc.div",mode="response",service="calc",side="client"} 1`,
		`jesus_requests_total{channel="tcp+msgpack",code="ok",method="calc.note",mode="ack",service="calc",side="server"} 1`,
		`jesus_requests_total{channel="tcp+msgpack",code="ok",method="calc.count",mode="stream",service="calc",side="client"} 1`,
		`jesus_errors_total{channel="tcp+msgpack",code="invalid_argument",method="calc.div",mode="response",service="calc",side="server"} 1`,
		`jesus_request_duration_seconds_count{channel="tcp+msgpack",method="calc.div",mode="response",service="calc",side="client"} 4`,
		`jesus_requests_in_flight{method="calc.div",mode="response",service="calc",side="server"} 0`,
		`jesus_server_panics_total{service="calc"} 0`,
		`jesus_client_bad_responses_total{service="tester"} 0`,
	} {
		if !strings.Contains(text, w) {
			t.Errorf("missing %s", w)
		}
	}
	if t.Failed() {
		t.Log(text)
	}
}

// scrape reads /metrics of an admin listener over reg, as Prometheus would.
func scrape(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	a := admin.New(reg)
	addr, err := a.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	res, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d %v", res.StatusCode, err)
	}
	return string(b)
}

func TestOneWayDropsCollected(t *testing.T) {
	channeltest.CheckLeaks(t)
	reg, c := startCollected(t)
	ctx := ctxT(t)
	// A noResponse request for a method the server lacks is read and dropped.
	if err := jesus.Send(ctx, c, "calc.nope", "x"); err != nil {
		t.Fatal(err)
	}
	want := `jesus_server_oneway_dropped_total{service="calc"} 1`
	channeltest.Eventually(t, 10*time.Second, want, func() bool { return strings.Contains(scrape(t, reg), want) })
	if text := scrape(t, reg); !strings.Contains(text, `jesus_client_oneway_sent_total{service="tester"} 1`) {
		t.Fatalf("client sent not counted:\n%s", text)
	}
}

// refuse is a validator that refuses one string.
type refuse string

func (r refuse) Validate(v any) error {
	if s, ok := v.(string); ok && s == string(r) {
		return errors.New("refused " + s)
	}
	return nil
}

// validation gives every method the same request and response validators.
type validation struct{ req, res jesus.Validator }

func (v validation) RequestValidator(string) jesus.Validator  { return v.req }
func (v validation) ResponseValidator(string) jesus.Validator { return v.res }

func TestValidationRefusals(t *testing.T) {
	channeltest.CheckLeaks(t)
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	s := jesus.NewServer("echo", jesus.WithValidation(validation{refuse("bad"), refuse("worse")}))
	jesus.Handle(s, "say", func(_ context.Context, in string) (string, error) {
		switch in {
		case "evil":
			return "worse", nil
		case "o":
			return "odd", nil
		}
		return in, nil
	})
	bound, err := s.Listen(ctxT(t), "tcp+json://127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := jesus.NewClient("caller", jesus.WithTarget(bound.String()), jesus.WithValidation(validation{nil, refuse("odd")}))
	defer c.Close()
	if err := m.AddServer(s); err != nil {
		t.Fatal(err)
	}
	if err := m.AddClient("caller", c); err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	for in, code := range map[string]jesus.Code{"bad": jesus.CodeInvalidArgument, "evil": jesus.CodeInternal, "o": jesus.CodeBadResponse, "fine": ""} {
		if _, err := jesus.Call[string, string](ctx, c, "echo.say", in); jesus.CodeOf(err) != code && !(code == "" && err == nil) {
			t.Fatalf("%s: %v, want %s", in, err, code)
		}
	}
	text := scrape(t, reg)
	for _, w := range []string{
		`jesus_validation_refusals_total{part="request",service="echo",side="server"} 1`,
		`jesus_validation_refusals_total{part="response",service="echo",side="server"} 1`,
		`jesus_validation_refusals_total{part="response",service="caller",side="client"} 1`,
	} {
		if !strings.Contains(text, w) {
			t.Errorf("missing %s", w)
		}
	}
	if t.Failed() {
		t.Log(text)
	}
}
