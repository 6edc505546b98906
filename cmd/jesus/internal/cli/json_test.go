package cli_test

import (
	"testing"

	"github.com/jesus-go/jesus/cmd/jesus/internal/cli"
)

// TestLintPushJSON: lint and push print JSON lines with --json.
func TestLintPushJSON(t *testing.T) {
	leakCheck(t)
	r := jesusCmd(t, "", "schema", "lint", "--json", schemasDir, "no/such")
	r.want(t, cli.ExitFailure, `{"ok":true,"path":"`, `"service":"orders","version":"1.2.0"}`, `{"error":"`, `"ok":false,"path":"no/such"}`)
	ep, _, _ := etcd(t)
	jesusCmd(t, "", "--etcd", ep, "schema", "push", "--json", schemasDir).want(t, cli.ExitOK, `{"result":"published","service":"audit","version":"0.3.0"}`)
	jesusCmd(t, "", "--etcd", ep, "schema", "push", "--json", schemasDir).want(t, cli.ExitOK, `{"result":"unchanged","service":"orders","version":"1.2.0"}`)
}

// TestListenNeedsARegistry: listen on a private embedded etcd would hear nothing; it says
// what to start instead.
func TestListenNeedsARegistry(t *testing.T) {
	leakCheck(t)
	dir := t.TempDir()
	r := jesusCmd(t, "", "--data-dir", dir, "listen", "log", "--count", "1")
	r.wantErr(t, cli.ExitUnavailable, "listen: no registry to join (no jesus registry serve on "+dir+"): start one with `jesus registry serve`")
}
