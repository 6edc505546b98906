package schema_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/jesus-go/jesus/schema"
)

// Schema typos that made jsonschema/v5 panic while compiling: each must come back as an
// error that names the file and the JSON pointer, never as a crash.
func TestCompilerPanicsBecomeErrors(t *testing.T) {
	const head = `{"service":"x","version":"1.0.0","channels":{"c":"tcp"},`
	for _, tc := range []struct {
		name, file string
		want       []string
	}{
		{"bad type in $defs", head + `"$defs":{"A":{"type":"arzay"}},"methods":{"m":{"mode":"ack","channel":"c","request":{"$ref":"#/$defs/A"}},"n":{"mode":"ack","channel":"c","request":{}}}}`,
			[]string{"x.json", "/$defs/A"}},
		{"unreferenced bad $defs", head + `"$defs":{"A":{"type":"arzay"}},"methods":{"m":{"mode":"ack","channel":"c","request":{}},"n":{"mode":"ack","channel":"c","request":{}}}}`,
			[]string{"x.json", "/$defs/A"}},
		{"ref to $defs with bad keyword", head + `"$defs":{"A":{"minLength":"x"}},"methods":{"m":{"mode":"ack","channel":"c","request":{"properties":{"a":{"$ref":"#/$defs/A"}}}},"n":{"mode":"response","channel":"c","request":{},"response":{}}}}`,
			[]string{"x.json", "/$defs/A"}},
		{"bad $defs in a fragment", head + `"methods":{"m":{"mode":"ack","channel":"c","request":{"$ref":"frag.json#/$defs/A"}},"n":{"mode":"ack","channel":"c","request":{"$ref":"frag.json#/$defs/B"}}}}`,
			[]string{"frag.json", "/$defs/A/type"}},
		{"relative $schema in a part", head + `"methods":{"m":{"mode":"ack","channel":"c","request":{"$schema":"./x.json"}}}}`,
			[]string{"x.json", "/methods/m/request"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{"x.json": {Data: []byte(tc.file)}}
			if strings.Contains(tc.file, "frag.json") {
				fsys["frag.json"] = &fstest.MapFile{Data: []byte(`{"$defs":{"A":{"type":"arzay"},"B":{}}}`)}
			}
			_, err := schema.LoadFS(fsys)
			if err == nil {
				t.Fatal("loaded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
			t.Log(err)
		})
	}
}

// A descriptor's top-level "$schema" is an editor hint, often a relative path to the
// meta-schema (which allows it); it loads, and its schemas are draft 2020-12.
func TestRelativeSchemaHint(t *testing.T) {
	const file = `{"$schema":"./descriptor.schema.json","service":"x","version":"1.0.0","channels":{"c":"tcp"},` +
		`"methods":{"m":{"mode":"ack","channel":"c","request":{"type":"integer"}},"n":{"mode":"ack","channel":"c","request":{}}}}`
	s := schema.NewSet()
	if err := s.Add("x.json", []byte(file)); err != nil {
		t.Fatal(err)
	}
	v, err := s.Validator("x", "", schema.PartRequest, "m")
	if err != nil {
		t.Fatal(err)
	}
	if v.Validate("no") == nil {
		t.Fatal("a string passed an integer schema")
	}
}
