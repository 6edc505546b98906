package export_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/export"
	"github.com/jesus-go/jesus/schema/internal/schematest"
)

// compile compiles an official schema; resources maps $id -> file of testdata. Nothing is
// fetched from the network.
//
// The OpenAPI meta-schema of Schema Objects requires its own vocabulary
// (".../oas/3.1/vocab/base": true), which jsonschema/v5 refuses as unknown. That vocabulary
// only adds annotations (discriminator, xml, externalDocs, example), whose shapes the same
// meta-schema still checks through its properties, so it is declared optional here.
func compile(t *testing.T, draft *jsonschema.Draft, root string, resources map[string]string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.Draft = draft
	c.LoadURL = func(u string) (io.ReadCloser, error) { return nil, fmt.Errorf("no network in tests: %s", u) }
	for id, file := range resources {
		b, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		b = bytes.Replace(b, []byte(`"https://spec.openapis.org/oas/3.1/vocab/base": true`), []byte(`"https://spec.openapis.org/oas/3.1/vocab/base": false`), 1)
		if err := c.AddResource(id, bytes.NewReader(b)); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
	}
	s, err := c.Compile(root)
	if err != nil {
		t.Fatalf("compile %s: %v", root, err)
	}
	return s
}

func asyncAPISchema(t *testing.T) *jsonschema.Schema {
	return compile(t, jsonschema.Draft7, "asyncapi.json", map[string]string{"asyncapi.json": "asyncapi-3.0.0.schema.json"})
}

func openAPISchema(t *testing.T) *jsonschema.Schema {
	const base = "https://spec.openapis.org/oas/3.1/"
	return compile(t, jsonschema.Draft2020, base+"schema-base/2022-10-07", map[string]string{
		base + "schema/2022-10-07":      "openapi-3.1-schema.json",
		base + "schema-base/2022-10-07": "openapi-3.1-schema-base.json",
		base + "dialect/base":           "openapi-3.1-dialect-base.schema.json",
		base + "meta/base":              "openapi-3.1-meta-base.schema.json",
	})
}

func decode(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	return v
}

// exportsValid exports the test sets with gen and checks each document against meta, the
// official schema of the format (name).
func exportsValid(t *testing.T, name string, meta *jsonschema.Schema, gen func(*schema.Set, export.Options) ([]byte, error)) {
	t.Helper()
	for _, dir := range []string{"../../schemas", "../gogen/testdata/tricky"} {
		b, err := gen(schematest.Load(t, dir), export.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := meta.Validate(decode(t, b)); err != nil {
			t.Fatalf("%s: the %s document fails the official schema: %#v", dir, name, err)
		}
	}
}

func TestAsyncAPIValid(t *testing.T) {
	meta := asyncAPISchema(t)
	exportsValid(t, "AsyncAPI", meta, export.AsyncAPI)
	// The official schema is not a pushover: a document without info fails.
	if err := meta.Validate(map[string]any{"asyncapi": "3.0.0"}); err == nil {
		t.Fatal("the official schema accepted a document without info")
	}
	noProto := map[string]any{"asyncapi": "3.0.0", "info": map[string]any{"title": "x", "version": "1"},
		"servers": map[string]any{"s": map[string]any{"host": "h"}}}
	if err := meta.Validate(noProto); err == nil {
		t.Fatal("the official schema accepted a server without protocol")
	}
}

func TestOpenAPIValid(t *testing.T) {
	meta := openAPISchema(t)
	exportsValid(t, "OpenAPI", meta, export.OpenAPI)
	bad := map[string]any{"openapi": "3.1.0", "info": map[string]any{"title": "x", "version": "1"},
		"paths": map[string]any{"/x": map[string]any{"post": map[string]any{"responses": map[string]any{"200": map[string]any{}}}}}}
	if err := meta.Validate(bad); err == nil {
		t.Fatal("the official schema accepted a response without description")
	}
	badSchema := map[string]any{"openapi": "3.1.0", "info": map[string]any{"title": "x", "version": "1"},
		"components": map[string]any{"schemas": map[string]any{"X": map[string]any{"type": 5}}}}
	if err := meta.Validate(badSchema); err == nil {
		t.Fatal("the official schema (with the dialect) accepted a Schema Object with \"type\": 5")
	}
}

// resolveAll checks that every $ref of a document points at something in it.
func resolveAll(t *testing.T, doc, v any) {
	t.Helper()
	switch x := v.(type) {
	case map[string]any:
		if r, ok := x["$ref"].(string); ok {
			if !strings.HasPrefix(r, "#/") {
				t.Fatalf("$ref %q leaves the document", r)
			}
			cur := doc
			for _, tok := range strings.Split(r[2:], "/") {
				tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
				m, ok := cur.(map[string]any)
				if !ok || m[tok] == nil {
					t.Fatalf("$ref %q does not resolve (at %q)", r, tok)
				}
				cur = m[tok]
			}
		}
		for _, e := range x {
			resolveAll(t, doc, e)
		}
	case []any:
		for _, e := range x {
			resolveAll(t, doc, e)
		}
	}
}

func TestContents(t *testing.T) {
	set := schematest.Load(t, "../../schemas")
	a, err := export.AsyncAPI(set, export.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ad := decode(t, a)
	resolveAll(t, ad, ad)
	for _, want := range []string{
		`"orders.create": {`, `"action": "receive"`, `"reply": {`, `"x-jesus-mode": "stream"`,
		`"orders.emit.order.created"`, `"billing.on.order.created"`, `"audit.on.order.created"`,
		`"protocol": "udp"`, `"contentType": "application/msgpack"`,
		`"$ref": "#/components/schemas/common.defs.Money/schema"`, `"orders.Order": {`,
	} {
		if !bytes.Contains(a, []byte(want)) {
			t.Errorf("AsyncAPI lacks %s", want)
		}
	}
	o, err := export.OpenAPI(set, export.Options{})
	if err != nil {
		t.Fatal(err)
	}
	od := decode(t, o)
	resolveAll(t, od, od)
	paths := od.(map[string]any)["paths"].(map[string]any)
	if len(paths) != 1 || paths["/orders.submit"] == nil {
		t.Fatalf("paths: want only /orders.submit (the one method on an http channel), got %v", paths)
	}
	for _, want := range []string{`"202": {`, `"const": "ack"`, `"$ref": "#/components/schemas/jesus.Error"`, `"operationId": "orders.submit"`} {
		if !bytes.Contains(o, []byte(want)) {
			t.Errorf("OpenAPI lacks %s", want)
		}
	}
	// Stable output.
	for i := 0; i < 3; i++ {
		a2, _ := export.AsyncAPI(schematest.Load(t, "../../schemas"), export.Options{})
		o2, _ := export.OpenAPI(schematest.Load(t, "../../schemas"), export.Options{})
		if !bytes.Equal(a, a2) || !bytes.Equal(o, o2) {
			t.Fatal("output differs between runs")
		}
	}
	if _, err := export.AsyncAPI(set, export.Options{Services: []string{"nope"}}); err == nil || !strings.Contains(err.Error(), `no service "nope"`) {
		t.Fatalf("unknown service: %v", err)
	}
}
