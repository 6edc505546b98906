package cli_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jesus-go/jesus/cmd/jesus/internal/cli"
)

// oldOrders is orders@1.1.0: no touch method, a wider status in watch's stream items.
var oldOrders = filepath.Join("testdata", "diff", "orders.json")

func TestSchemaDiffFiles(t *testing.T) {
	newOrders := filepath.Join(schemasDir, "orders.json")
	r := jesusCmd(t, "", "schema", "diff", oldOrders, newOrders)
	r.want(t, cli.ExitOK, "orders@1.1.0 -> orders@1.2.0\n", "method touch: added: compatible\n",
		"method watch: stream item: changed: compatible\n", "compatible: orders@1.2.0 can replace orders@1.1.0: yes\n")
	if strings.Contains(r.stdout, "method get") {
		t.Fatalf("unchanged methods listed:\n%s", r.stdout)
	}

	r = jesusCmd(t, "", "schema", "diff", newOrders, oldOrders)
	r.want(t, cli.ExitFailure, "method touch: removed: incompatible: callers of OLD call it",
		"method watch: stream item: changed: incompatible: /status:", `for example: {"id":"a","status":""}`,
		"incompatible: orders@1.1.0 can replace orders@1.2.0: no")
	if r.stderr != "" {
		t.Fatalf("stderr: %q", r.stderr)
	}

	jesusCmd(t, "", "schema", "diff", newOrders, newOrders).want(t, cli.ExitOK, "no change\n", "compatible")
	jesusCmd(t, "", "schema", "diff", newOrders, filepath.Join(schemasDir, "billing.json")).
		wantErr(t, cli.ExitUsage, "orders@1.2.0 and billing@1.0.0 are different services")
	jesusCmd(t, "", "schema", "diff", "not a name", newOrders).wantErr(t, cli.ExitUsage, "neither a file nor SERVICE@VERSION")
	jesusCmd(t, "", "schema", "diff", "missing.json", newOrders).wantErr(t, cli.ExitFailure, "schema diff: missing.json")
}

func TestSchemaDiffRegistry(t *testing.T) {
	leakCheck(t)
	ep, _, _ := etcd(t)
	jesusCmd(t, "", "--etcd", ep, "schema", "push", oldOrders).want(t, cli.ExitOK, "orders@1.1.0")
	jesusCmd(t, "", "--etcd", ep, "schema", "push", schemasDir).want(t, cli.ExitOK, "orders@1.2.0")

	r := jesusCmd(t, "", "--etcd", ep, "schema", "diff", "orders@1.2.0", "orders@1.1.0", "--json")
	r.want(t, cli.ExitFailure)
	var rep struct {
		Old, New, Verdict string
		Items             []struct {
			Kind, Name, Part, Change, Verdict string
			Witness                           json.RawMessage
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("--json: %v\n%s", err, r.stdout)
	}
	if rep.Old != "orders@1.2.0" || rep.New != "orders@1.1.0" || rep.Verdict != "incompatible" {
		t.Fatalf("--json: %+v", rep)
	}
	found := false
	for _, it := range rep.Items {
		if it.Kind == "method" && it.Name == "watch" && it.Part == "stream item" && it.Verdict == "incompatible" && it.Witness != nil {
			found = true
		}
	}
	if !found {
		t.Fatalf("no incompatible watch item: %+v", rep.Items)
	}
	// SERVICE alone is the latest version; a file and a published version mix.
	jesusCmd(t, "", "--etcd", ep, "schema", "diff", oldOrders, "orders").want(t, cli.ExitOK, "orders@1.1.0 -> orders@1.2.0")
	jesusCmd(t, "", "--etcd", ep, "schema", "diff", "orders@1.1.0", "orders@7.0.0").wantErr(t, cli.ExitFailure, "orders@7.0.0", "published: 1.1.0, 1.2.0")
	jesusCmd(t, "", "--etcd", ep, "schema", "diff", "nobody", "orders").wantErr(t, cli.ExitFailure, `no service "nobody"`)
}

func TestSchemaShowMethod(t *testing.T) {
	leakCheck(t)
	ep, _, _ := etcd(t)
	jesusCmd(t, "", "--etcd", ep, "schema", "push", schemasDir).want(t, cli.ExitOK)
	r := jesusCmd(t, "", "--etcd", ep, "schema", "show", "orders.get")
	r.want(t, cli.ExitOK, `"method": "orders.get"`, `"mode": "response"`, `"channel": "rpc"`, `"postalCode"`, `"version": "1.2.0"`)
	if strings.Contains(r.stdout, "$ref") || strings.Contains(r.stdout, `"events"`) {
		t.Fatalf("not one method with its $refs inlined:\n%s", r.stdout)
	}
	jesusCmd(t, "", "--etcd", ep, "schema", "show", "orders@1.2.0", "--method", "watch").want(t, cli.ExitOK, `"mode": "stream"`, `"one status change"`)
	jesusCmd(t, "", "--etcd", ep, "schema", "show", "orders.nope").wantErr(t, cli.ExitFailure, `orders@1.2.0 has no method "nope" (methods: create, get, submit, touch, watch)`)
}
