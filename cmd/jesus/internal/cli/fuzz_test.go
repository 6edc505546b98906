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
