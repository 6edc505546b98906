package cli_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jesus-go/jesus/cmd/jesus/internal/cli"
	"github.com/jesus-go/jesus/jesus"
)

type benchJSON struct {
	Method      string
	Mode        string
	Concurrency int
	Calls       uint64
	Errors      uint64
	ErrorCodes  map[string]uint64 `json:"error_codes"`
	Items       uint64
	PerSecond   float64          `json:"calls_per_second"`
	Elapsed     time.Duration    `json:"elapsed_ns"`
	Latency     map[string]int64 `json:"latency_ns"`
	Histogram   []struct {
		LE    int64 `json:"le_ns"`
		Count uint64
	}
}

func TestBench(t *testing.T) {
	leakCheck(t)
	target, _ := serveOrders(t, "tcp+msgpack+zstd://127.0.0.1:0")

	r := jesusCmd(t, "", "bench", "orders.get", `{"id":"o-1"}`, "--target", target, "-c", "4", "-n", "400")
	r.want(t, cli.ExitOK, "bench orders.get: mode response, concurrency 4", "400 calls in", "latency: p50", "p99.9", "<= ")
	t.Logf("jesus bench orders.get --target %s -c 4 -n 400:\n%s", target, r.stdout)

	r = jesusCmd(t, "", "bench", "orders.watch", `{"id":"o-1"}`, "--target", target, "--schemas", schemasDir, "-c", "2", "-n", "50", "--json")
	r.want(t, cli.ExitOK)
	var res benchJSON
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("--json: %v\n%s", err, r.stdout)
	}
	if res.Mode != "stream" || res.Calls != 50 || res.Items != 150 || res.Errors != 0 || res.PerSecond <= 0 {
		t.Fatalf("--json: %+v", res)
	}
	l := res.Latency
	if !(l["min"] > 0 && l["min"] <= l["p50"] && l["p50"] <= l["p90"] && l["p90"] <= l["p99"] && l["p99"] <= l["p999"] && l["p999"] <= l["max"]) {
		t.Fatalf("latencies out of order: %v", l)
	}
	var n uint64
	for _, row := range res.Histogram {
		n += row.Count
	}
	if n != res.Calls {
		t.Fatalf("histogram holds %d calls, want %d", n, res.Calls)
	}

	// --rate paces the calls: the 20th of 20 at 400/s is due 47.5 ms after the start.
	r = jesusCmd(t, "", "bench", "orders.touch", `{"id":"o-1"}`, "--target", target, "--mode", "noresponse", "-c", "4", "-n", "20", "--rate", "400", "--json")
	r.want(t, cli.ExitOK)
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || res.Calls != 20 || res.Elapsed < 47*time.Millisecond {
		t.Fatalf("--rate: %v %+v", err, res)
	}

	// A duration run stops by itself.
	r = jesusCmd(t, `{"id":"o-1"}`, "bench", "orders.get", "-", "--target", target, "-d", "300ms", "--json")
	r.want(t, cli.ExitOK)
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || res.Calls == 0 || res.Elapsed < 300*time.Millisecond {
		t.Fatalf("-d: %v %+v", err, res)
	}

	jesusCmd(t, "", "bench", "orders.get", `{}`, "--target", target, "-c", "0").wantErr(t, cli.ExitUsage, "--concurrency 0")
	jesusCmd(t, "", "bench", "orders.get", `{}`, "--target", target, "-d", "0").wantErr(t, cli.ExitUsage, "positive --duration or --count")
}

// TestBenchErrors: failed calls are counted by code and make the exit status 1.
func TestBenchErrors(t *testing.T) {
	leakCheck(t)
	var n atomic.Int64
	srv := jesus.NewServer("flaky")
	jesus.Handle(srv, "op", func(ctx context.Context, req map[string]any) (string, error) {
		if n.Add(1)%2 == 0 {
			return "", jesus.NewError(jesus.CodeFailedPrecondition, "every other call fails")
		}
		return "ok", nil
	})
	bound, err := srv.Listen(ctxT(t), "tcp+msgpack://127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	r := jesusCmd(t, "", "bench", "flaky.op", `{}`, "--target", bound.String(), "-n", "10")
	r.want(t, cli.ExitFailure, "5 calls in", "errors: 5 (failed_precondition 5)")
	r.wantErr(t, cli.ExitFailure, "bench flaky.op: 5 of 10 calls failed; first: flaky.op: failed_precondition: every other call fails (remote)")
	if strings.Contains(r.stderr, "jesus: jesus:") {
		t.Fatalf("stderr: %q", r.stderr)
	}
}

// TestBenchEvent emits events through the registry to the demo's listeners.
func TestBenchEvent(t *testing.T) {
	leakCheck(t)
	ep, reg, cache := etcd(t)
	services(t, reg, cache)
	r := jesusCmd(t, "", "--etcd", ep, "bench", "--event", "order.created",
		`{"orderId":"o-9","customerId":"c-1","total":{"amount":21,"currency":"EUR"},"at":"2026-01-02T03:04:05Z"}`, "-c", "2", "-n", "40", "--json")
	r.want(t, cli.ExitOK)
	var res benchJSON
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || res.Calls != 40 || res.Mode != "ack" || res.Method != "order.created" {
		t.Fatalf("--event: %v %+v", err, res)
	}
	jesusCmd(t, "", "--etcd", ep, "bench", "--event", "nobody.emits", `{}`, "-n", "1").wantErr(t, cli.ExitFailure, `no service in the registry declares event "nobody.emits"`)
	jesusCmd(t, "", "--etcd", ep, "bench", "--event", "order.created", `{"orderId":1}`, "-n", "1").wantErr(t, cli.ExitFailure, "invalid_argument")
}
