package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/jesus-go/jesus/cmd/jesus/internal/cli"
)

// writeFiles writes name -> content into a fresh directory.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const (
	checkRecv = `{"service":"b","version":"1.0.0","channels":{"rpc":"tcp+json"},
		"methods":{"m":{"mode":"response","channel":"rpc","request":{"$ref":"any.json"},"response":{"type":"integer"}}}}`
	checkCaller = `{"service":"a","version":"1.0.0","channels":{"rpc":"tcp+json"},"calls":{"b.m":{"request":{"type":"string"},"response":{"$ref":"num.json"}}}}`
)

// TestCheckLoadFailure: a descriptor that does not load is exit 5 with a one-line message,
// and with --json a JSON error object; never "incompatible".
func TestCheckLoadFailure(t *testing.T) {
	broken := writeFiles(t, map[string]string{"a.json": `{"service":"a","version":"1.0.0","methods":{"m":{"mode":"sometimes"}}}`})
	r := jesusCmd(t, "", "check", broken)
	r.wantErr(t, cli.ExitInvalid, "check: "+broken)
	if r.stdout != "" {
		t.Fatalf("stdout: %s", r.stdout)
	}
	r = jesusCmd(t, "", "check", "--json", broken)
	r.wantErr(t, cli.ExitInvalid)
	var got struct {
		Error struct{ Code, Source, Message string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || got.Error.Code != "invalid_descriptor" || got.Error.Source != broken || got.Error.Message == "" {
		t.Fatalf("--json: %v\n%s", err, r.stdout)
	}
	jesusCmd(t, "", "check", filepath.Join(broken, "nope.json")).wantErr(t, cli.ExitInvalid, "nope.json")

	selfRef := writeFiles(t, map[string]string{"a.json": `{"service":"a","version":"1.0.0","channels":{"rpc":"tcp+json"},
		"methods":{"m":{"mode":"noResponse","channel":"rpc","request":{"type":"object","properties":{"next":{"$ref":"#"}}}}}}`})
	jesusCmd(t, "", "check", selfRef).wantErr(t, cli.ExitInvalid, `$ref to "#" points at the descriptor itself`)
}

// TestCheckBooleanFragments: fragment files whose top level is true or false are schemas.
func TestCheckBooleanFragments(t *testing.T) {
	dir := writeFiles(t, map[string]string{"any.json": `true`, "num.json": `{"type":"number"}`, "b.json": checkRecv, "a.json": checkCaller})
	jesusCmd(t, "", "check", dir).want(t, cli.ExitOK, "a@1.0.0 calls b.m on b@1.0.0: request: compatible")
	dir = writeFiles(t, map[string]string{"any.json": `false`, "num.json": `{"type":"number"}`, "b.json": checkRecv, "a.json": checkCaller})
	jesusCmd(t, "", "check", dir).want(t, cli.ExitFailure, "a@1.0.0 calls b.m on b@1.0.0: request:", `for example: ""`)
}

// TestCheckPatterns: a caller's pattern that allows longer ids than the receiver's is
// decided, with the string that shows it.
func TestCheckPatterns(t *testing.T) {
	dir := copySchemas(t, func(doc map[string]any) {
		unproven(doc)
		req := doc["calls"].(map[string]any)["billing.charge"].(map[string]any)["request"].(map[string]any)
		req["properties"].(map[string]any)["customerId"] = map[string]any{"type": "string", "pattern": "^c[a-z0-9]{2,}$"}
	})
	jesusCmd(t, "", "check", dir).want(t, cli.ExitFailure,
		`request: caller allows /customerId "c00000`, `which billing@1.0.0's pattern "^[A-Za-z0-9_-]{1,64}$" rejects`)
}
