package schema_test

import (
	"testing"
	"testing/fstest"

	"github.com/jesus-go/jesus/schema"
)

// TestBundleFollowsTheCompiler: the bundle takes the schema a $ref names from where the
// compiler takes it, also for the forms a plain path join reads differently: a path from
// the root of the set ("/common.json"), a ".." above it, and a percent-escaped pointer token
// ("a%2Fb" is the one token "a/b"). Decoys sit where the other reading would land.
func TestBundleFollowsTheCompiler(t *testing.T) {
	set, err := schema.LoadFS(fstest.MapFS{
		"common.json":     {Data: []byte(`{"$defs":{"Code":{"type":"string"},"a/b":{"type":"boolean"},"a":{"b":{"type":"integer"}}}}`)},
		"sub/common.json": {Data: []byte(`{"$defs":{"Code":{"type":"integer"}}}`)},
		"sub/orders.json": {Data: []byte(`{"service":"orders","version":"1.0.0","channels":{"rpc":"tcp+json"},"methods":{
			"root":{"mode":"noResponse","channel":"rpc","request":{"$ref":"/common.json#/$defs/Code"}},
			"up":{"mode":"noResponse","channel":"rpc","request":{"$ref":"../../common.json#/$defs/Code"}},
			"esc":{"mode":"noResponse","channel":"rpc","request":{"$ref":"/common.json#/$defs/a%2Fb"}},
			"near":{"mode":"noResponse","channel":"rpc","request":{"$ref":"common.json#/$defs/Code"}}}}`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	d := set.Service("orders")
	b, err := d.Bundle()
	if err != nil {
		t.Fatal(err)
	}
	alone := schema.NewSet()
	if err := alone.Add(d.File, b); err != nil {
		t.Fatalf("bundle does not load alone: %v\n%s", err, b)
	}
	for _, c := range []struct {
		method string
		valid  any
	}{{"root", "x"}, {"up", "x"}, {"esc", true}, {"near", int64(7)}} {
		for _, s := range []*schema.Set{set, alone} {
			v, err := s.Validator("orders", "1.0.0", schema.PartRequest, c.method)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range []any{"x", true, int64(7)} {
				if got, want := v.Validate(x) == nil, x == c.valid; got != want {
					t.Errorf("%s: %v valid=%v, want %v (bundle %v)\n%s", c.method, x, got, want, s == alone, b)
				}
			}
		}
	}
}
