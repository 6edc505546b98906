package ref

import (
	"encoding/json"
	"errors"
	"net/url"
	"testing"
)

// FuzzResolve puts an arbitrary $ref in sub/a.json and compares Resolve and Walk with the
// compiler: whenever the compiler builds the schema, Resolve must name the schema the
// compiler took (each candidate accepts one probe of its own), and a reference Resolve
// says leaves the set must not compile.
func FuzzResolve(f *testing.F) {
	for _, r := range []string{"", "#", "#/$defs/x", "common.json#/$defs/S", "/common.json#/$defs/S", "../../common.json#/$defs/S",
		"../common.json#/$defs/a%2Fb", "../common.json#/$defs/a/b", "../common.json#/$defs/%7E1", "../common.json#/$defs/~1",
		"../common.json#/$defs/x%20y", "../common.json#/$defs/L/prefixItems/1", "../common.json#/$defs/L/prefixItems/+1",
		"common.json?x", "//host/common.json", "#S", "c%6Fmmon.json#/$defs/S", "..%2Fcommon.json#/$defs/S", "..%2F..%2Fcommon.json#/$defs/S", "https://example.com/x.json"} {
		f.Add(r)
	}
	files := map[string][]byte{
		"common.json":     []byte(`{"$defs":{"S":{"const":"common"},"a/b":{"const":"slash"},"a":{"b":{"const":"decoy"}},"~1":{"const":"tilde"},"x y":{"const":"space"},"L":{"prefixItems":[{"const":"l0"},{"const":"l1"}]}}}`),
		"sub/common.json": []byte(`{"$defs":{"S":{"const":"sub"}}}`),
	}
	probes := []any{"common", "sub", "slash", "decoy", "tilde", "space", "l0", "l1", "self"}
	f.Fuzz(func(t *testing.T, r string) {
		self, err := json.Marshal(map[string]any{"$ref": r, "$defs": map[string]any{"x": map[string]any{"const": "self"}}})
		if err != nil {
			return
		}
		all := map[string][]byte{"sub/a.json": self}
		for n, b := range files {
			all[n] = b
		}
		// A set's loader takes names as the compiler spells them; compat's unescapes them.
		for _, unescape := range []bool{false, true} {
			c := NewCompiler(func(name string) ([]byte, bool) {
				if unescape {
					var err error
					if name, err = url.PathUnescape(name); err != nil {
						return nil, false
					}
				}
				b, ok := all[name]
				return b, ok
			})
			s, cerr := Compile(c, "sub/a.json", "")
			tg, rerr := Resolve("sub/a.json", r)
			if errors.Is(rerr, ErrOutside) && cerr == nil {
				t.Fatalf("%q compiles, but Resolve says it leaves the set", r)
			}
			if cerr != nil {
				continue
			}
			if rerr != nil {
				t.Fatalf("%q compiles, but Resolve fails: %v", r, rerr)
			}
			b, ok := all[tg.File]
			if !ok {
				t.Fatalf("%q compiles, but Resolve names %q, which is not a file", r, tg.File)
			}
			var doc any
			if err := json.Unmarshal(b, &doc); err != nil {
				t.Fatal(err)
			}
			target, err := Walk(doc, tg.Pointer)
			if err != nil {
				t.Fatalf("%q compiles, but %+v is not found: %v", r, tg, err)
			}
			m, ok := target.(map[string]any)
			if !ok {
				t.Fatalf("%q compiles, but %+v is %v", r, tg, target)
			}
			want, constrained := m["const"]
			if tg.File == "sub/a.json" && tg.Pointer == "" {
				want, constrained = nil, false // the $ref to itself: no probe tells
			}
			for _, p := range probes {
				if got := s.Validate(p) == nil; got != (!constrained || p == want) {
					t.Fatalf("%q: the compiler's schema accepts %q: %v; Resolve names %+v", r, p, got, tg)
				}
			}
		}
	})
}
