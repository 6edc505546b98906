package cli_test

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jesus-go/jesus/cmd/jesus/internal/cli"
	"github.com/jesus-go/jesus/cmd/jesus/internal/clitest"
)

// copySchemas copies the example descriptors to a temporary directory and applies edit to
// the decoded orders.json.
func copySchemas(t *testing.T, edit func(orders map[string]any)) string {
	t.Helper()
	dir := t.TempDir()
	files, err := filepath.Glob(filepath.Join(schemasDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Base(f) == "orders.json" && edit != nil {
			var doc map[string]any
			if err := json.Unmarshal(b, &doc); err != nil {
				t.Fatal(err)
			}
			edit(doc)
			if b, err = json.MarshalIndent(doc, "", "  "); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// breaking makes orders@1.3.0 expect billing.charge to answer only "accepted".
func breaking(doc map[string]any) {
	doc["version"] = "1.3.0"
	doc["calls"] = map[string]any{"billing.charge": map[string]any{
		"request": map[string]any{"$ref": "common.defs.json#/$defs/ChargeRequest"},
		"response": map[string]any{"type": "object", "required": []string{"chargeId", "status"},
			"properties": map[string]any{"status": map[string]any{"const": "accepted"}}},
	}}
}

// unproven makes orders' call send a pattern the checker cannot compare with billing's: a
// word boundary, which RE2 and ECMA-262 read differently.
func unproven(doc map[string]any) {
	doc["calls"] = map[string]any{"billing.charge": map[string]any{
		"request": map[string]any{"type": "object", "required": []string{"orderId", "customerId", "amount"}, "additionalProperties": false,
			"properties": map[string]any{
				"orderId":    map[string]any{"type": "string", "pattern": `^o-[0-9]{1,8}\b$`},
				"customerId": map[string]any{"type": "string", "pattern": "^c[a-z0-9]{2,20}$"},
				"amount":     map[string]any{"$ref": "common.defs.json#/$defs/Money"},
			}},
		"response": map[string]any{"$ref": "common.defs.json#/$defs/ChargeResponse"},
	}}
}

func TestHelpAndUsage(t *testing.T) {
	leakCheck(t)
	r := jesusCmd(t, "", "--help")
	r.want(t, cli.ExitOK, "Exit codes:", "3  usage", "demo", "registry", "schema", "call", "emit", "listen", "check")
	for _, sub := range [][]string{{"call", "--help"}, {"check", "--help"}, {"schema", "lint", "--help"}, {"registry", "serve", "--help"}, {"listen", "--help"}, {"emit", "--help"}, {"demo", "--help"}} {
		jesusCmd(t, "", sub...).want(t, cli.ExitOK, "Usage:")
	}
	jesusCmd(t, "", "frobnicate").wantErr(t, cli.ExitUsage, `unknown command "frobnicate"`)
	jesusCmd(t, "", "schema", "ls", "--bogus").wantErr(t, cli.ExitUsage, "unknown flag: --bogus")
	jesusCmd(t, "", "call").wantErr(t, cli.ExitUsage, "takes 1 to 2 argument(s), got 0")
	jesusCmd(t, "", "call", "nodot", "{}").wantErr(t, cli.ExitUsage, "not SERVICE.METHOD")
	jesusCmd(t, "", "check").wantErr(t, cli.ExitUsage, "needs DIR|FILE... or --live")
	jesusCmd(t, "", "schema", "show", "Bad!").wantErr(t, cli.ExitUsage, "not a service name")
}

func TestLint(t *testing.T) {
	leakCheck(t)
	jesusCmd(t, "", "schema", "lint", schemasDir).want(t, cli.ExitOK, "ok   audit@0.3.0", "ok   billing@1.0.0", "ok   orders@1.2.0")
	jesusCmd(t, "", "schema", "lint", filepath.Join(schemasDir, "orders.json")).want(t, cli.ExitOK, "ok   orders@1.2.0")

	bad := copySchemas(t, func(doc map[string]any) {
		doc["methods"].(map[string]any)["touch"].(map[string]any)["mode"] = "sometimes"
	})
	r := jesusCmd(t, "", "schema", "lint", bad, filepath.Join(bad, "billing.json"))
	r.want(t, cli.ExitFailure, "FAIL "+bad, "/methods/touch/mode", "ok   billing@1.0.0")
	r.wantErr(t, cli.ExitFailure, "schema lint: 1 of 2 argument(s) failed")

	udp := copySchemas(t, func(doc map[string]any) {
		doc["methods"].(map[string]any)["get"].(map[string]any)["channel"] = "logs" // response over udp
	})
	r = jesusCmd(t, "", "schema", "lint", filepath.Join(udp, "orders.json"))
	r.want(t, cli.ExitFailure, "FAIL "+filepath.Join(udp, "orders.json"), "udp")

	notJSON := filepath.Join(t.TempDir(), "x.json")
	os.WriteFile(notJSON, []byte(`{"service": "x", `), 0o644)
	jesusCmd(t, "", "schema", "lint", notJSON).want(t, cli.ExitFailure, "FAIL "+notJSON)
	jesusCmd(t, "", "schema", "lint", filepath.Join(t.TempDir(), "missing")).want(t, cli.ExitFailure, "no such file")
}

func TestPushLsShow(t *testing.T) {
	leakCheck(t)
	ep, _, _ := etcd(t)
	jesusCmd(t, "", "--etcd", ep, "schema", "push", schemasDir).want(t, cli.ExitOK, "published audit@0.3.0", "published billing@1.0.0", "published orders@1.2.0")
	jesusCmd(t, "", "--etcd", ep, "schema", "push", schemasDir).want(t, cli.ExitOK, "unchanged orders@1.2.0")

	changed := copySchemas(t, func(doc map[string]any) { doc["description"] = "changed without a new version" })
	r := jesusCmd(t, "", "--etcd", ep, "schema", "push", filepath.Join(changed, "orders.json"))
	r.want(t, cli.ExitFailure, "FAIL      orders@1.2.0")
	r.wantErr(t, cli.ExitFailure, "version already published with different content")

	jesusCmd(t, "", "--etcd", ep, "schema", "ls").want(t, cli.ExitOK, "SERVICE", "orders", "1.2.0", "billing", "audit")
	r = jesusCmd(t, "", "--etcd", ep, "schema", "ls", "--json")
	r.want(t, cli.ExitOK)
	var row struct {
		Service  string   `json:"service"`
		Versions []string `json:"versions"`
	}
	if err := json.Unmarshal([]byte(strings.Split(r.stdout, "\n")[2]), &row); err != nil || row.Service != "orders" || row.Versions[0] != "1.2.0" {
		t.Fatalf("ls --json third line: %+v %v\n%s", row, err, r.stdout)
	}

	r = jesusCmd(t, "", "--etcd", ep, "schema", "show", "orders")
	r.want(t, cli.ExitOK, `"service": "orders"`, `"version": "1.2.0"`)
	var doc map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("show prints no JSON document: %v\n%s", err, r.stdout)
	}
	jesusCmd(t, "", "--etcd", ep, "schema", "show", "orders@1.2.0").want(t, cli.ExitOK, `"service": "orders"`)
	// published but not running: unavailable
	jesusCmd(t, "", "--etcd", ep, "call", "orders.get", `{"id":"o-1"}`).wantErr(t, cli.ExitUnavailable, "unavailable", "orders")
	jesusCmd(t, "", "--etcd", ep, "schema", "show", "orders@9.9.9").wantErr(t, cli.ExitFailure, `orders has no version "9.9.9" (published: 1.2.0)`)
	jesusCmd(t, "", "--etcd", ep, "schema", "show", "nobody").wantErr(t, cli.ExitFailure, `no service "nobody"`)
}

// TestEmbeddedDefault: without --etcd, a command starts an embedded etcd in the data
// directory, and what it wrote is there for the next command.
func TestEmbeddedDefault(t *testing.T) {
	leakCheck(t)
	dir := t.TempDir()
	jesusCmd(t, "", "--data-dir", dir, "schema", "push", schemasDir).want(t, cli.ExitOK, "published orders@1.2.0")
	jesusCmd(t, "", "--data-dir", dir, "schema", "ls").want(t, cli.ExitOK, "orders", "billing", "audit")
}

// TestRegistryServe: other commands on the same data directory use the etcd of a running
// serve; it stops on cancel and removes its endpoint file.
func TestRegistryServe(t *testing.T) {
	leakCheck(t)
	dir := t.TempDir()
	serve := startCmd(t, "registry", "serve", "--data-dir", dir, "--listen", "127.0.0.1:0")
	serve.Out.WaitFor(t, "export JESUS_ETCD=")
	b, err := os.ReadFile(filepath.Join(dir, "endpoint"))
	if err != nil || !strings.HasPrefix(string(b), "http://127.0.0.1:") {
		t.Fatalf("endpoint file: %q %v", b, err)
	}
	jesusCmd(t, "", "--data-dir", dir, "schema", "push", schemasDir).want(t, cli.ExitOK, "published orders@1.2.0")
	ep := strings.TrimSpace(string(b))
	jesusCmd(t, "", "--etcd", ep, "schema", "ls").want(t, cli.ExitOK, "orders")
	serve.StopWant(t, cli.ExitOK)
	if _, err := os.Stat(filepath.Join(dir, "endpoint")); !os.IsNotExist(err) {
		t.Fatalf("endpoint file left behind: %v", err)
	}
}

func TestUnreachableEtcd(t *testing.T) {
	leakCheck(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	for _, args := range [][]string{
		{"schema", "ls"},
		{"call", "orders.get", `{"id":"o-1"}`},
		{"emit", "log", `{}`},
		{"check", "--live"},
	} {
		r := jesusCmd(t, "", append([]string{"--etcd", addr, "--dial-timeout", "500ms"}, args...)...)
		r.wantErr(t, cli.ExitUnavailable, "etcd at http://"+addr+" did not answer within 500ms")
		if r.took > 5*time.Second {
			t.Fatalf("%v: gave up after %v", args, r.took)
		}
	}
	t.Setenv("JESUS_ETCD", addr) // the variable works as the flag does
	var errb clitest.Buffer
	code := cli.Main(ctxT(t), []string{"--dial-timeout", "300ms", "schema", "ls"}, cli.Env{Stderr: &errb})
	if code != cli.ExitUnavailable || !strings.Contains(errb.String(), addr) {
		t.Fatalf("JESUS_ETCD: exit %d %s", code, errb.String())
	}
}

func TestCheck(t *testing.T) {
	leakCheck(t)
	jesusCmd(t, "", "check", schemasDir).want(t, cli.ExitOK, "compatible")
	r := jesusCmd(t, "", "check", "--json", schemasDir)
	r.want(t, cli.ExitOK)
	var rep struct {
		Verdict string `json:"verdict"`
		Items   []any  `json:"items"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || rep.Verdict != "compatible" || len(rep.Items) == 0 {
		t.Fatalf("check --json: %+v %v\n%s", rep, err, r.stdout)
	}

	brk := copySchemas(t, breaking)
	r = jesusCmd(t, "", "check", brk)
	r.want(t, cli.ExitFailure, "orders@1.3.0 calls billing.charge on billing@1.0.0: response", `/status "declined"`, "incompatible")
	r = jesusCmd(t, "", "check", "--json", brk)
	r.want(t, cli.ExitFailure, `"verdict":"incompatible"`, `"pointer":"/status"`)

	unp := copySchemas(t, unproven)
	r = jesusCmd(t, "", "check", unp)
	r.want(t, cli.ExitUnproven, "cannot prove")
	jesusCmd(t, "", "check", "--allow-unproven", unp).want(t, cli.ExitOK, "cannot prove")

	// Live: against what the registry holds.
	ep, _, _ := etcd(t)
	jesusCmd(t, "", "--etcd", ep, "schema", "push", schemasDir).want(t, cli.ExitOK)
	jesusCmd(t, "", "--etcd", ep, "check", "--live").want(t, cli.ExitOK, "compatible")
	r = jesusCmd(t, "", "--etcd", ep, "check", "--live", filepath.Join(brk, "orders.json"))
	r.want(t, cli.ExitFailure, "orders@1.3.0 calls billing.charge on billing@1.0.0: response")
	if strings.Contains(r.stdout, "orders@1.2.0") {
		t.Fatalf("a live check of orders@1.3.0 reports on orders@1.2.0:\n%s", r.stdout)
	}
}
