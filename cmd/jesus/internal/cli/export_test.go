package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestExport(t *testing.T) {
	r := jesusCmd(t, "", "export", "asyncapi", schemasDir)
	r.want(t, 0, `"asyncapi": "3.0.0"`, `"orders.watch"`)
	var doc map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("not one JSON document: %v", err)
	}

	out := filepath.Join(t.TempDir(), "openapi.json")
	jesusCmd(t, "", "export", "openapi", schemasDir, "-o", out, "--title", "Shop").want(t, 0)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var o struct {
		OpenAPI string
		Info    struct{ Title string }
		Paths   map[string]any
	}
	if err := json.Unmarshal(b, &o); err != nil || o.OpenAPI != "3.1.0" || o.Info.Title != "Shop" || o.Paths["/orders.submit"] == nil {
		t.Fatalf("openapi: %v %+v", err, o)
	}

	jesusCmd(t, "", "export", "asyncapi", "--service", "billing", filepath.Join(schemasDir, "billing.json")).want(t, 0, `"billing.charge"`)
	jesusCmd(t, "", "export", "openapi", "--service", "nope", schemasDir).wantErr(t, 3, `export openapi: export: no service "nope"`)
	jesusCmd(t, "", "export", "asyncapi", "no/such/dir").wantErr(t, 1, "export asyncapi:", "no/such/dir")
}
