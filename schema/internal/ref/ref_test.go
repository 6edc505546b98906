package ref

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestResolve(t *testing.T) {
	for _, c := range []struct {
		file, ref string
		want      Target
		err       error
	}{
		{"a.json", "", Target{"a.json", ""}, nil},
		{"a.json", "#", Target{"a.json", ""}, nil},
		{"a.json", "#/", Target{"a.json", ""}, nil},
		{"a.json", "#/$defs/X", Target{"a.json", "/$defs/X"}, nil},
		{"sub/a.json", "b.json", Target{"sub/b.json", ""}, nil},
		{"sub/a.json", "b.json#/$defs/X", Target{"sub/b.json", "/$defs/X"}, nil},
		{"sub/a.json", "./b.json", Target{"sub/b.json", ""}, nil},
		{"sub/a.json", "../b.json", Target{"b.json", ""}, nil},
		{"sub/a.json", "../../b.json", Target{"b.json", ""}, nil}, // ".." stops at the root, as in a URL
		{"sub/a.json", "/b.json", Target{"b.json", ""}, nil},      // from the root of the set
		{"a.json", "my%20file.json", Target{"my file.json", ""}, nil},
		{"sub/a.json", "..%2Fb.json", Target{"sub/../b.json", ""}, nil}, // an escaped "/" does not make ".." a segment
		{"a.json", "#/$defs/a~1b", Target{"a.json", "/$defs/a~1b"}, nil},
		{"a.json", "#/$defs/a%2Fb", Target{"a.json", "/$defs/a~1b"}, nil}, // one token "a/b"
		{"a.json", "#/$defs/a~0b", Target{"a.json", "/$defs/a~0b"}, nil},
		{"a.json", "#/$defs/%7E1", Target{"a.json", "/$defs/~01"}, nil}, // "~" is read before "%": the token is "~1"
		{"a.json", "#/$defs/a%20b", Target{"a.json", "/$defs/a b"}, nil},
		{"a.json", "#Anchor", Target{}, ErrAnchor},
		{"a.json", "https://example.com/s.json", Target{}, ErrOutside},
		{"a.json", "urn:x:y", Target{}, ErrOutside},
		{"a.json", "//host/b.json", Target{}, ErrOutside},
		{"a.json", "b.json?x=1", Target{}, ErrOutside},
		{"a.json", "sub/c:d.json", Target{}, ErrOutside},
		{"a.json", "%zz", Target{}, ErrOutside},
	} {
		got, err := Resolve(c.file, c.ref)
		if got != c.want || (c.err == nil) != (err == nil) || (c.err != nil && !errors.Is(err, c.err)) {
			t.Errorf("Resolve(%q, %q) = %+v, %v; want %+v, %v", c.file, c.ref, got, err, c.want, c.err)
		}
	}
}

func TestWalk(t *testing.T) {
	doc := map[string]any{"a/b": "slash", "~": "tilde", "l": []any{"zero", "one"}, "s": "x"}
	for _, c := range []struct {
		ptr  string
		want any
	}{{"/a~1b", "slash"}, {"/~0", "tilde"}, {"/l/1", "one"}, {"/l/+1", "one"}} {
		if got, err := Walk(doc, c.ptr); err != nil || got != c.want {
			t.Errorf("Walk(%q) = %v, %v; want %v", c.ptr, got, err, c.want)
		}
	}
	for _, p := range []string{"/nope", "/l/2", "/l/-1", "/l/1x", "/s/x", "x"} {
		if got, err := Walk(doc, p); err == nil {
			t.Errorf("Walk(%q) = %v, want an error", p, got)
		}
	}
}

// TestResolveAsTheCompiler checks Resolve against the compiler itself: each $ref of a file
// must reach the schema found at Resolve's target, which accepts exactly one of the probes.
func TestResolveAsTheCompiler(t *testing.T) {
	files := map[string][]byte{
		"common.json":     []byte(`{"$defs":{"S":{"const":"common"},"a/b":{"const":"slash"},"a":{"b":{"const":"decoy"}},"~1":{"const":"tilde"},"x y":{"const":"space"},"L":{"prefixItems":[{"const":"l0"},{"const":"l1"}]}}}`),
		"sub/common.json": []byte(`{"$defs":{"S":{"const":"sub"}}}`),
		"sub/a.json": []byte(`{"$defs":{
			"near":{"$ref":"common.json#/$defs/S"},
			"root":{"$ref":"/common.json#/$defs/S"},
			"up":{"$ref":"../../common.json#/$defs/S"},
			"esc":{"$ref":"../common.json#/$defs/a%2Fb"},
			"tilde":{"$ref":"../common.json#/$defs/%7E1"},
			"space":{"$ref":"../common.json#/$defs/x%20y"},
			"index":{"$ref":"../common.json#/$defs/L/prefixItems/1"}}}`),
	}
	docs := map[string]any{}
	for n, b := range files {
		docs[n] = decode(t, b)
	}
	probes := []any{"common", "sub", "slash", "decoy", "tilde", "space", "l0", "l1"}
	c := NewCompiler(func(name string) ([]byte, bool) { b, ok := files[name]; return b, ok })
	defs := docs["sub/a.json"].(map[string]any)["$defs"].(map[string]any)
	for name, d := range defs {
		r := d.(map[string]any)["$ref"].(string)
		tg, err := Resolve("sub/a.json", r)
		if err != nil {
			t.Fatalf("%s: %v", r, err)
		}
		target, err := Walk(docs[tg.File], tg.Pointer)
		if err != nil {
			t.Fatalf("%s: %v", r, err)
		}
		want := target.(map[string]any)["const"]
		s, err := Compile(c, "sub/a.json", "/$defs/"+EscapeToken(name))
		if err != nil {
			t.Fatalf("%s: %v", r, err)
		}
		for _, p := range probes {
			if got := s.Validate(p) == nil; got != (p == want) {
				t.Errorf("%s: the compiler's target accepts %q: %v; Resolve's target is %q", r, p, got, want)
			}
		}
	}
}

func TestCompileRefusesOtherURLs(t *testing.T) {
	c := NewCompiler(func(name string) ([]byte, bool) {
		if name == "a.json" {
			return []byte(`{"$ref":"https://example.com/s.json"}`), true
		}
		return nil, false
	})
	if _, err := Compile(c, "a.json", ""); err == nil {
		t.Fatal("a $ref to a remote URL compiled")
	}
	if _, err := Compile(c, "missing.json", ""); err == nil {
		t.Fatal("a missing file compiled")
	}
}

func TestDocLeavesOutADescriptorsSchema(t *testing.T) {
	desc := []byte(`{"$schema":"descriptor.schema.json","service":"a"}`)
	if got := string(Doc(desc)); got != `{"service":"a"}` {
		t.Fatalf("descriptor: %s", got)
	}
	escaped := []byte(`{"\u0024schema":"descriptor.schema.json","service":"a"}`)
	if got := string(Doc(escaped)); got != `{"service":"a"}` {
		t.Fatalf("descriptor, escaped key: %s", got)
	}
	sch := []byte(`{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"string"}`)
	if got := Doc(sch); string(got) != string(sch) {
		t.Fatalf("schema: %s", got)
	}
}

func decode(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}
