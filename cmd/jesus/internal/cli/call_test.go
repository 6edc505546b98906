package cli_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/cmd/jesus/internal/cli"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/jesus/discovery"
	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/registry/embedded"
)

const orderJSON = `{"customer":{"id":"c-1","email":"ada@example.com"},"currency":"EUR",
  "lines":[{"sku":"BOK-1001","quantity":2,"unitPrice":{"amount":10.5,"currency":"EUR"}}]}`

func TestCallEachMode(t *testing.T) {
	leakCheck(t)
	ep, reg, cache := etcd(t)
	services(t, reg, cache)
	call := func(stdin string, args ...string) result {
		return jesusCmd(t, stdin, append([]string{"--etcd", ep, "call"}, args...)...)
	}

	// response (declared), tcp
	r := call("", "orders.create", orderJSON)
	r.want(t, cli.ExitOK)
	if strings.TrimSpace(r.stdout) != `{"id":"o-1"}` {
		t.Fatalf("create printed %q", r.stdout)
	}
	// JSON from stdin
	r = call(`{"id":"o-1"}`, "orders.get")
	r.want(t, cli.ExitOK, `"id":"o-1"`, `"status":"paid"`)
	var got map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("response is not one JSON line: %v %q", err, r.stdout)
	}
	// stream: one JSON line per item
	r = call("", "orders.watch", `{"id":"o-1"}`)
	r.want(t, cli.ExitOK)
	if r.stdout != "{\"id\":\"o-1\",\"status\":\"new\"}\n{\"id\":\"o-1\",\"status\":\"paid\"}\n" {
		t.Fatalf("stream printed %q", r.stdout)
	}
	r.wantErr(t, cli.ExitOK, "stream ended after 2 item(s)")
	// ack (declared, http), then over the other channels
	call("", "orders.submit", `{"id":"o-1"}`).wantErr(t, cli.ExitOK, "orders.submit: acknowledged")
	for _, ch := range []string{"rpc", "local", "logs"} {
		call("", "orders.submit", `{"id":"o-1"}`, "--channel", ch).wantErr(t, cli.ExitOK, "acknowledged")
	}
	// noResponse (declared, unix); over udp
	call("", "orders.touch", `{"id":"o-1"}`).wantErr(t, cli.ExitOK, "sent (noResponse")
	call("", "orders.touch", `{"id":"o-1"}`, "--channel", "logs").wantErr(t, cli.ExitOK, "sent (noResponse")
	// --mode overrides: get as a stream of one? no: a response method called in ack mode is refused by the server
	call("", "orders.get", `{"id":"o-1"}`, "--channel", "local").want(t, cli.ExitOK, `"status":"submitted"`)
	call("", "orders.get", `{"id":"o-1"}`, "--channel", "domain").want(t, cli.ExitOK, `"status":"submitted"`)
	call("", "orders.get", `{"id":"o-1"}`, "--channel", "logs").wantErr(t, cli.ExitFailure, "unimplemented", "udp")
	call("", "orders.submit", `{"id":"o-1"}`, "--mode", "noResponse").wantErr(t, cli.ExitOK, "sent (noResponse")
	call("", "orders.get", `{"id":"o-1"}`, "--mode", "ack").wantErr(t, cli.ExitFailure, "orders.get")
	call("", "audit.tail", `{"limit":1}`).want(t, cli.ExitOK, `"kind":`)

	// refusals
	r = call("", "orders.create", `{"customer":{"id":"c 1","email":"ada@example.com"},"currency":"EUR","lines":[{"sku":"book","quantity":1,"unitPrice":{"amount":1,"currency":"EUR"}}]}`)
	r.wantErr(t, cli.ExitFailure, "invalid_argument", "/customer/id", "/lines/0/sku")
	if r.stdout != "" {
		t.Fatalf("a refused call printed %q", r.stdout)
	}
	call("", "orders.watch", `{"id":"o-1"}`, "--timeout", "1ns").wantErr(t, cli.ExitUnavailable, "deadline")
	call("", "orders.get", `{"id":"o-99"}`).wantErr(t, cli.ExitFailure, "not_found", `no order "o-99"`)
	call("", "orders.nope", `{}`).wantErr(t, cli.ExitFailure, `has no method "nope" (methods: create, get, submit, touch, watch)`)
	call("", "nobody.get", `{}`).wantErr(t, cli.ExitFailure, `no service "nobody"`)
	call("", "orders.get", `{}`, "--channel", "pigeon").wantErr(t, cli.ExitUsage, `no channel "pigeon"`)
	call("", "orders.get", `{}`, "--mode", "later").wantErr(t, cli.ExitUsage, `--mode "later"`)
}

func TestCallBadJSON(t *testing.T) {
	leakCheck(t)
	// No etcd is needed to refuse bad input: it is refused before connecting.
	for _, tc := range []struct{ stdin, arg, want string }{
		{"", `{"id":`, "the argument is not valid JSON: unexpected end of input"},
		{"", `{"id" "x"}`, "the argument is not valid JSON: invalid character '\"' after object key (offset 7)"},
		{"", `{} {}`, "holds more than one JSON value"},
		{"", `   `, "no JSON given"},
		{`{"id":}`, "", "the stdin is not valid JSON"},
		{"", "", "no JSON given (as an argument or on stdin)"},
	} {
		args := []string{"--etcd", "127.0.0.1:1", "call", "orders.get"}
		if tc.arg != "" {
			args = append(args, tc.arg)
		}
		r := jesusCmd(t, tc.stdin, args...)
		r.wantErr(t, cli.ExitUsage, tc.want)
		jesusCmd(t, tc.stdin, append([]string{"--etcd", "127.0.0.1:1", "emit", "log"}, args[4:]...)...).wantErr(t, cli.ExitUsage, "emit log: ")
	}
}

func TestEmitListen(t *testing.T) {
	leakCheck(t)
	ep, reg, cache := etcd(t)
	services(t, reg, cache)

	l := startCmd(t, "--etcd", ep, "listen", "order.created", "log", "--count", "2")
	l.Err.WaitFor(t, "listening to order.created, log as jesus-listen-")
	name := strings.Fields(l.Err.String()[strings.Index(l.Err.String(), " as ")+4:])[0]

	ev := `{"orderId":"o-7","customerId":"c-1","total":{"amount":12.5,"currency":"EUR"},"at":"2026-01-02T03:04:05Z"}`
	r := jesusCmd(t, "", "--etcd", ep, "emit", "order.created", ev)
	r.want(t, cli.ExitOK, `"event":"order.created"`, `"as":"orders@1.2.0"`, `"acked":["audit","billing","`+name+`"]`)
	r = jesusCmd(t, "", "--etcd", ep, "emit", "log", `{"level":"info","msg":"hello","at":"2026-01-02T03:04:05Z"}`, "--from", "billing")
	r.want(t, cli.ExitOK, `"as":"billing@1.0.0"`, `"sent":["audit","`+name+`"]`)

	if code := l.Wait(); code != cli.ExitOK {
		t.Fatalf("listen exit %d: %s", code, l.Err.String())
	}
	if !strings.Contains(l.Err.String(), "listen: printed 2 event(s); received 2") {
		t.Fatalf("listen's summary: %s", l.Err.String())
	}
	lines := strings.Split(strings.TrimSpace(l.Out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("listen printed %d lines:\n%s", len(lines), l.Out.String())
	}
	var rec struct {
		Event   string         `json:"event"`
		ID      string         `json:"id"`
		From    string         `json:"from"`
		Payload map[string]any `json:"payload"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil || rec.Event != "order.created" || rec.From != "jesus-cli" || rec.Payload["orderId"] != "o-7" || rec.ID == "" {
		t.Fatalf("first record %+v %v: %s", rec, err, lines[0])
	}
	if !strings.Contains(lines[1], `"event":"log"`) || !strings.Contains(lines[1], `"msg":"hello"`) {
		t.Fatalf("second record %s", lines[1])
	}
	// The listener is gone from the registry: later events are not routed to it.
	r = jesusCmd(t, "", "--etcd", ep, "emit", "order.created", ev)
	r.want(t, cli.ExitOK, `"acked":["audit","billing"]`)
	jesusCmd(t, "", "--etcd", ep, "schema", "ls").want(t, cli.ExitOK)
	if s := jesusCmd(t, "", "--etcd", ep, "schema", "ls").stdout; strings.Contains(s, name) {
		t.Fatalf("listener %s still in the registry:\n%s", name, s)
	}

	// refusals
	r = jesusCmd(t, "", "--etcd", ep, "emit", "order.created", `{"orderId":"o 7","customerId":"c-1","total":{"amount":-1,"currency":"EUR"},"at":"x"}`)
	r.wantErr(t, cli.ExitFailure, "invalid_argument", "/orderId", "/total/amount")
	jesusCmd(t, "", "--etcd", ep, "emit", "nobody.emits", `{}`).wantErr(t, cli.ExitFailure, `no service in the registry declares event "nobody.emits"`)
	jesusCmd(t, "", "--etcd", ep, "emit", "log", `{}`, "--from", "audit").wantErr(t, cli.ExitFailure, "--from audit: it does not declare event \"log\" (declared by billing, orders)")
	jesusCmd(t, "", "--etcd", ep, "listen", "nobody.emits", "--count", "1").wantErr(t, cli.ExitFailure, `no service in the registry declares event "nobody.emits"`)
	jesusCmd(t, "", "--etcd", ep, "listen", "log", "--count", "-1").wantErr(t, cli.ExitUsage, "must not be negative")
}

// TestListenFor: listen --for stops by itself when nothing arrives.
func TestListenFor(t *testing.T) {
	leakCheck(t)
	ep, _, _ := etcd(t)
	jesusCmd(t, "", "--etcd", ep, "schema", "push", schemasDir).want(t, cli.ExitOK)
	r := jesusCmd(t, "", "--etcd", ep, "listen", "log", "--for", "300ms")
	r.want(t, cli.ExitOK)
	if r.stdout != "" {
		t.Fatalf("printed %q", r.stdout)
	}
}

// TestListenSurvivesEtcdRestart: the listener's leased descriptor and instance are back
// after etcd restarts, so events keep reaching it.
func TestListenSurvivesEtcdRestart(t *testing.T) {
	leakCheck(t)
	ctx := ctxT(t)
	e, err := embedded.Start(ctx, embedded.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ep := e.Endpoints()[0]
	jesusCmd(t, "", "--etcd", ep, "schema", "push", schemasDir).want(t, cli.ExitOK)

	l := startCmd(t, "--etcd", ep, "listen", "log", "--count", "1")
	l.Err.WaitFor(t, "listening to log as ")
	name := strings.Fields(l.Err.String()[strings.Index(l.Err.String(), " as ")+4:])[0]

	e.Stop()
	if err := e.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	// Until the listener is back, an emit does not reach it; then it does. (audit, which
	// listens too, is published but not running: the emit reports it as failed.)
	// The listener re-registers on its own schedule.
	channeltest.EventuallyState(t, 20*time.Second, "the listener to come back after etcd restarted", func() (bool, string) {
		r := jesusCmd(t, "", "--etcd", ep, "emit", "log", `{"level":"info","msg":"after restart","at":"2026-01-02T03:04:05Z"}`)
		return strings.Contains(r.stdout, `"sent":["`+name+`"]`), r.stdout + " " + r.stderr
	})
	// listen --count 1 ends by itself once the event reached it (or with the test's context).
	if code := l.Wait(); code != cli.ExitOK || !strings.Contains(l.Out.String(), "after restart") {
		t.Fatalf("listen did not get the event: exit %d\n%s%s", code, l.Out.String(), l.Err.String())
	}
}

// A live receiver whose replies break its published schema: jesus call refuses them
// with bad_response, naming the schema, the pointer and the receiver, on one line.
func TestCallRefusesBadReplies(t *testing.T) {
	leakCheck(t)
	ep, reg, _ := etcd(t)
	set, err := schema.LoadDir(schemasDir)
	if err != nil {
		t.Fatal(err)
	}
	d := set.Service("orders")
	s := jesus.NewServer("orders") // no validation of its own: nothing stops what it sends
	jesus.Handle(s, "get", func(ctx context.Context, ref map[string]any) (map[string]any, error) {
		return map[string]any{"id": ref["id"], "status": "misplaced"}, nil
	})
	jesus.Handle(s, "create", func(ctx context.Context, o map[string]any) (map[string]any, error) {
		return map[string]any{"id": 7}, nil
	})
	jesus.HandleStream(s, "watch", func(ctx context.Context, ref map[string]any, send func(map[string]any) error) error {
		if err := send(map[string]any{"id": ref["id"], "status": "new"}); err != nil {
			return err
		}
		return send(map[string]any{"id": ref["id"], "status": "teleported"})
	})
	jesus.HandleOneWay(s, "submit", func(ctx context.Context, ref map[string]any) error { return nil })
	jesus.HandleOneWay(s, "touch", func(ctx context.Context, ref map[string]any) error { return nil })
	if err := s.ListenDescriptor(ctxT(t), d, jesus.LoopbackAddrs(t.TempDir())); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := discovery.Register(ctxT(t), s, reg, d); err != nil {
		t.Fatal(err)
	}
	call := func(args ...string) result {
		return jesusCmd(t, "", append([]string{"--etcd", ep, "call"}, args...)...)
	}
	r := call("orders.create", orderJSON)
	r.wantErr(t, cli.ExitFailure, "bad_response", "orders@"+d.Version, "/id", "tcp+msgpack+zstd://127.0.0.1:")
	if r.stdout != "" {
		t.Fatalf("a refused reply was printed: %q", r.stdout)
	}
	call("orders.watch", `{"id":"o-1"}`).wantErr(t, cli.ExitFailure, "bad_response", "/status", "item from")
}
