package cli_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/cmd/jesus/internal/cli"
	"github.com/jesus-go/jesus/jesus"
)

func TestOpsCommands(t *testing.T) {
	leakCheck(t)
	ep, reg, cache := etcd(t)
	s := services(t, reg, cache)
	run := func(args ...string) result {
		return jesusCmd(t, "", append([]string{"--etcd", ep}, args...)...)
	}
	orders := s.Orders.Server

	r := run("ls")
	r.want(t, cli.ExitOK, "SERVICE", "orders", "billing", "audit", "1.2.0", orders.ID())

	run("ping", "orders").want(t, cli.ExitOK, orders.ID(), "1.2.0")
	r = run("ping", "orders", "--json")
	r.want(t, cli.ExitOK)
	var p jesus.Ping
	if err := json.Unmarshal([]byte(r.stdout), &p); err != nil || p.ID != orders.ID() || p.Version != "1.2.0" || p.Service != "orders" {
		t.Fatalf("ping --json: %q %v", r.stdout, err)
	}

	run("info", "orders").want(t, cli.ExitOK, "orders.create", "orders.submit", "noResponse,ack", "rpc", "domain=http+json+gzip://")

	// Traffic, one failure among it, then stats.
	run("call", "orders.create", orderJSON).want(t, cli.ExitOK)
	run("call", "orders.get", `{"id":"o-1"}`).want(t, cli.ExitOK)
	run("call", "orders.get", `{"id":"o-404"}`).wantErr(t, cli.ExitFailure, "not_found")
	r = run("stats", "orders", "--json")
	r.want(t, cli.ExitOK)
	var st jesus.Stats
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("stats --json: %q %v", r.stdout, err)
	}
	found := false
	for _, m := range st.Methods {
		if m.Name == "orders.get" {
			found = true
			if m.Requests != 2 || m.Errors != 1 || !strings.HasPrefix(m.LastError, "not_found") || m.P99Nanos <= 0 {
				t.Fatalf("orders.get stats: %+v", m)
			}
		}
	}
	if !found {
		t.Fatalf("no orders.get in %+v", st)
	}
	run("stats", "orders").want(t, cli.ExitOK, "METHOD", "orders.get", "not_found")

	r = run("describe", "orders.create")
	r.want(t, cli.ExitOK, "mode:     response", "channel:  rpc (tcp+msgpack+zstd)", "request schema:", `"customer"`,
		"response schema:", "example request:", "(valid against the request schema)")
	r = run("describe", "orders.create", "--json")
	r.want(t, cli.ExitOK)
	var d struct {
		Example      json.RawMessage `json:"example"`
		ExampleValid bool            `json:"exampleValid"`
		ExampleNote  string          `json:"exampleNote"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &d); err != nil || !d.ExampleValid {
		t.Fatalf("describe --json: %q %v", r.stdout, err)
	}
	// The example is a request the live service accepts.
	run("call", "orders.create", string(d.Example)).want(t, cli.ExitOK, `"id"`)
	for _, m := range []string{"orders.get", "orders.watch", "orders.touch", "orders.submit", "billing.charge"} {
		run("describe", m).want(t, cli.ExitOK, "(valid against the request schema)")
	}

	run("ping", "nosuch").wantErr(t, cli.ExitFailure, `no service "nosuch"`)
	run("describe", "orders.nosuch").wantErr(t, cli.ExitFailure, `has no method "nosuch"`)
	run("describe", "orders").wantErr(t, cli.ExitUsage, "is not SERVICE.METHOD")
	run("ping").wantErr(t, cli.ExitUsage, "takes 1 argument(s)")
}

// TestAdminFlag: a long-running command opens /metrics, /healthz and /readyz by flag.
func TestAdminFlag(t *testing.T) {
	leakCheck(t)
	ep, _, _ := etcd(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	d := startCmd(t, "--etcd", ep, "dashboard", "--listen", "127.0.0.1:0", "--admin", addr)
	d.Err.WaitFor(t, "admin: http://"+addr)
	d.Out.WaitFor(t, "dashboard: http://")
	for path, want := range map[string]string{"/healthz": "ok", "/readyz": "ok", "/metrics": "go_goroutines"} {
		res, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Fatalf("GET %s: %d %.200q", path, res.StatusCode, b)
		}
	}
	// The page and its state answer too.
	dash := strings.TrimSuffix(strings.Fields(strings.TrimPrefix(d.Out.String(), "dashboard: "))[0], "/")
	res, err := http.Get(dash + "/api/state")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("GET /api/state: %d", res.StatusCode)
	}
	d.StopWant(t, cli.ExitOK)
}

// TestDashboardEvents: with --events the dashboard shows the events it listens to.
func TestDashboardEvents(t *testing.T) {
	leakCheck(t)
	ep, reg, cache := etcd(t)
	services(t, reg, cache)
	d := startCmd(t, "--etcd", ep, "dashboard", "--listen", "127.0.0.1:0", "--interval", "100ms", "--events", "order.created")
	defer d.StopWant(t, cli.ExitOK)
	d.Out.WaitFor(t, "dashboard: http://")
	dash := strings.TrimSuffix(strings.Fields(strings.TrimPrefix(d.Out.String(), "dashboard: "))[0], "/")
	jesusCmd(t, "", "--etcd", ep, "emit", "order.created",
		`{"orderId":"o-9","customerId":"c-1","total":{"amount":21,"currency":"EUR"},"at":"2026-01-02T03:04:05Z"}`).want(t, cli.ExitOK)
	channeltest.EventuallyState(t, 30*time.Second, "the order.created among the dashboard's events", func() (bool, string) {
		res, err := http.Get(dash + "/api/state")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return strings.Contains(string(b), `order.created from jesus-cli`) && strings.Contains(string(b), `o-9`), "\n" + string(b)
	})
}
