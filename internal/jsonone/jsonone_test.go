package jsonone_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/jesus-go/jesus/internal/jsonone"
)

// decodeCases are inputs and the error Decode gives them ("": none).
var decodeCases = []struct {
	in, err string
}{
	{` {"n": 1.50} `, ""},
	{"  \n", "no JSON value"},
	{`{"id":`, "is not valid JSON: unexpected end of input (offset 6)"},
	{`{"id" "x"}`, `is not valid JSON: invalid character '"' after object key (offset 7)`},
	{`{} {}`, "holds more than one JSON value (offset 4)"},
	{`1 x`, "holds more than one JSON value (offset 2)"},
}

func TestDecode(t *testing.T) {
	for _, c := range decodeCases {
		v, err := jsonone.Decode([]byte(c.in))
		if c.err == "" {
			if err != nil || v.(map[string]any)["n"] != json.Number("1.50") {
				t.Errorf("%q: %#v, %v; want the number kept as written", c.in, v, err)
			}
			continue
		}
		if err == nil || err.Error() != c.err {
			t.Errorf("%q: %v, want %q", c.in, err, c.err)
		}
	}
	var invalid *jsonone.InvalidError
	if _, err := jsonone.Decode([]byte(`[`)); !errors.As(err, &invalid) {
		t.Errorf("%T, want *InvalidError", err)
	}
}

// FuzzDecode: Decode accepts exactly the inputs that are one valid JSON value.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5e3,"x"]}`, `{} {}`, ` `, `[`, `"\ud800"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := jsonone.Decode(data)
		if (err == nil) != json.Valid(data) {
			t.Fatalf("Decode %q: %v, json.Valid %v", data, err, json.Valid(data))
		}
	})
}
