package cli

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// FuzzReadJSON feeds arbitrary command-line JSON to the decoder of call and emit: it
// returns one value that encodes back to JSON, or a usage error, and never panics.
func FuzzReadJSON(f *testing.F) {
	for _, s := range []string{
		`{"id":"o-1"}`, `[1, 2.5e3, -0, 1e400]`, `{"a":`, `{} {}`, `"x" trailing`, ``, `  `,
		`123456789012345678901234567890`, `{"a":[[[[[[]]]]]]}`, "\xff\xfe", `nul\u0000`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := readJSON([]string{"x", s}, 1, strings.NewReader(""), "fuzz")
		if err != nil {
			var ee *exitError
			if !errors.As(err, &ee) || ee.code != ExitUsage {
				t.Fatalf("error without the usage code: %v", err)
			}
			return
		}
		if _, err := json.Marshal(v); err != nil {
			t.Fatalf("decoded %q to %#v, which does not encode: %v", s, v, err)
		}
		// stdin gives the same result as the argument
		w, err := readJSON([]string{"x"}, 1, strings.NewReader(s), "fuzz")
		if err != nil {
			t.Fatalf("argument decodes, stdin does not: %v", err)
		}
		a, _ := json.Marshal(v)
		b, _ := json.Marshal(w)
		if string(a) != string(b) {
			t.Fatalf("argument %s, stdin %s", a, b)
		}
	})
}

// BenchmarkReadJSON measures decoding a typical request given on the command line.
func BenchmarkReadJSON(b *testing.B) {
	b.ReportAllocs()
	arg := []string{"orders.create", `{"customer":{"id":"c-1","email":"ada@example.com"},"currency":"EUR","lines":[{"sku":"BOK-1001","quantity":2,"unitPrice":{"amount":10.5,"currency":"EUR"}}]}`}
	b.SetBytes(int64(len(arg[1])))
	for b.Loop() {
		if _, err := readJSON(arg, 1, nil, "bench"); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzExample feeds arbitrary schemas (as a published descriptor may hold) to describe's
// example generator: it never panics, and what it makes is small and encodes to JSON.
func FuzzExample(f *testing.F) {
	for _, s := range []string{
		`{"type":"object","required":["a"],"properties":{"a":{"type":"string","pattern":"^[A-Z]{3}-[0-9]{4,8}$"}}}`,
		`{"$ref":"#/$defs/X"}`, `{"$ref":"#"}`, `{"allOf":[{"$ref":"#"},{"required":["x"]}]}`,
		`{"type":"array","minItems":1000000000,"items":{"type":"array","minItems":1000000000}}`,
		`{"type":"string","minLength":2147483647}`, `{"type":"string","pattern":"((a{1000}){1000}){1000}"}`,
		`{"type":"number","minimum":5,"maximum":1,"multipleOf":0.01}`, `{"enum":[]}`, `false`, `[`,
		`{"type":["null","integer"],"exclusiveMinimum":1e308}`, `{"oneOf":[{"const":{"a":1}}]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var root any
		if json.Unmarshal([]byte(s), &root) != nil {
			return
		}
		m, _ := root.(map[string]any)
		if m == nil {
			m = map[string]any{}
		}
		v, _ := exampleOf(m, root)
		b, err := json.Marshal(v)
		if err != nil {
			// NaN and infinities have no JSON spelling; a schema can ask for one.
			if !strings.Contains(err.Error(), "unsupported value") {
				t.Fatalf("example %#v of %q does not encode: %v", v, s, err)
			}
			return
		}
		if len(b) > 64<<20 {
			t.Fatalf("example of %q is %d bytes", s, len(b))
		}
		r := resolver{root: m}
		_, _ = json.Marshal(r.inline(root, 0))
	})
}
