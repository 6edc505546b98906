package codec_test

import (
	"bytes"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/jesus-go/jesus/codec"
	"github.com/jesus-go/jesus/schema"
)

// What UnmarshalExact promises: a document read exactly gets, from a schema checking the
// JSON Marshal writes for the value read, the verdict its own bytes get. These schemas
// look at what an inexact read would change: keys present or missing, their number,
// nulls, integer and float bounds, strings.

const exactDescriptor = `{
  "service": "exact", "version": "1.0.0", "channels": {"rpc": "http+json"},
  "$defs": {
    "Money": {"type": "object", "required": ["amount", "currency"], "additionalProperties": false,
      "properties": {"amount": {"type": "number", "minimum": 0, "maximum": 1000, "multipleOf": 0.25}, "currency": {"enum": ["EUR", "USD"]}}},
    "Line": {"type": "object", "required": ["sku", "quantity", "unitPrice"], "additionalProperties": false,
      "properties": {"sku": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{1,4}$"}, "title": {"type": "string", "maxLength": 3},
        "quantity": {"type": "integer", "minimum": 1, "maximum": 100}, "unitPrice": {"$ref": "#/$defs/Money"}}}
  },
  "methods": {
    "order": {"mode": "noResponse", "channel": "rpc", "request": {
      "type": "object", "required": ["id", "lines"], "additionalProperties": false, "maxProperties": 5,
      "properties": {
        "id": {"type": "string", "minLength": 1, "maxLength": 4},
        "lines": {"type": ["array", "null"], "minItems": 1, "maxItems": 3, "items": {"$ref": "#/$defs/Line"}},
        "note": {"type": "string", "maxLength": 2}, "ratio": {"type": "integer"}, "ship": {"type": ["object", "null"]},
        "big": {"type": "integer", "maximum": 9223372036854775807, "minimum": 0}
      }}},
    "loose": {"mode": "noResponse", "channel": "rpc", "request": {
      "type": "object", "minProperties": 2, "maxProperties": 4, "dependentRequired": {"note": ["ship"]},
      "additionalProperties": {"type": ["string", "number", "null", "array", "object"], "maximum": 500, "maxLength": 3}}},
    "lines": {"mode": "noResponse", "channel": "rpc", "request": {"type": "array", "items": {"$ref": "#/$defs/Line"}}}
  }
}`

type exMoney struct {
	Amount   float64 `json:"amount"`
	Currency string  `json:"currency"`
}

type exLine struct {
	SKU       string  `json:"sku"`
	Title     string  `json:"title,omitempty"`
	Quantity  int     `json:"quantity"`
	UnitPrice exMoney `json:"unitPrice"`
}

type exOrder struct {
	ID    string   `json:"id"`
	Lines []exLine `json:"lines"`
	Note  string   `json:"note,omitempty"`
	Ratio float64  `json:"ratio,omitempty"`
	Ship  *exMoney `json:"ship,omitempty"`
	Big   uint64   `json:"big,omitempty"`
}

func exactValidators(t testing.TB) []*schema.Validator {
	set, err := schema.LoadFS(fstest.MapFS{"exact.json": {Data: []byte(exactDescriptor)}})
	if err != nil {
		t.Fatal(err)
	}
	var vs []*schema.Validator
	for _, m := range []string{"order", "loose", "lines"} {
		v, err := set.Validator("exact", "1.0.0", schema.PartRequest, m)
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	return vs
}

var exactTypes = []reflect.Type{
	reflect.TypeFor[exOrder](), reflect.TypeFor[*exOrder](), reflect.TypeFor[[]exLine](), reflect.TypeFor[exLine](),
	reflect.TypeFor[map[string]float64](), reflect.TypeFor[map[string]*exMoney](),
}

// checkJSONReadExactly reads data exactly into a value of each type and, when the read is
// exact, requires every validator to give the bytes and the value's JSON one verdict.
func checkJSONReadExactly(t testing.TB, s codec.Serializer, vs []*schema.Validator, data []byte) (exact int) {
	t.Helper()
	for _, typ := range exactTypes {
		x := reflect.New(typ)
		ok, err := s.(codec.ExactUnmarshaler).UnmarshalExact(data, x.Interface())
		if err != nil || !ok {
			continue
		}
		exact++
		again, err := s.Marshal(nil, x.Elem().Interface())
		if err != nil {
			t.Fatalf("%q read exactly into %#v, which does not write: %v", data, x.Elem().Interface(), err)
		}
		for _, v := range vs {
			a, b := v.ValidateJSON(data), v.ValidateJSON(again)
			if (a == nil) != (b == nil) {
				t.Fatalf("%s: %q read exactly into %T, written as %s: bytes %v; value %v", v.Name, data, x.Elem().Interface(), again, a, b)
			}
		}
	}
	return exact
}

var exactSeeds = []string{
	`{"id":"o1","lines":[{"sku":"ABC-1","quantity":2,"unitPrice":{"amount":1.25,"currency":"EUR"}}]}`,
	`{"id":"o1","lines":[{"sku":"ABC-1","title":"","quantity":2,"unitPrice":{"amount":1.25,"currency":"EUR"}}]}`,
	`{"id":"o1","lines":[{"sku":"ABC-1","quantity":2,"unitPrice":{"amount":1.25,"currency":"EUR"}}],"note":"ab","ship":null}`,
	`{"ID":"o1","lines":null}`, `{"id":"o1","id":"o2","lines":null}`, `{"id":"o1"}`, `{"id":null,"lines":null}`,
	`{"id":"o1","lines":null,"ratio":1.0}`, `{"id":"o1","lines":null,"ratio":1e1}`, `{"id":"\u006f1","lines":null}`,
	`{"id":"o1","lines":null,"big":9223372036854775808}`, `{"id":"o1","lines":null,"ratio":0.30000000000000004}`,
	`{"a":1,"b":1e2,"c":-0.0}`, `{"a":1,"a":2}`, `{"a":null,"b":2}`, `{"note":{"amount":1,"currency":"EUR"},"ship":null}`,
	`[{"sku":"ABC-1","quantity":1,"unitPrice":{"amount":0,"currency":"USD"}},null]`, `[]`, `null`, `{}`,
	`{"sku":"ABC-1","quantity":100.0,"unitPrice":{"amount":1000,"currency":"USD"}}`,
	`{"sku":"ABC-1","quantity":1,"unitPrice":{"amount":999.75000000000001,"currency":"USD"}}`,
}

// TestJSONReadsExactly: random documents written for random values, then damaged, read
// exactly only where the value's JSON gets the bytes' verdict.
func TestJSONReadsExactly(t *testing.T) {
	s := codec.NewJSON(codec.DefaultLimits())
	vs := exactValidators(t)
	r := rand.New(rand.NewPCG(21, 22))
	exact := 0
	for _, d := range exactSeeds {
		exact += checkJSONReadExactly(t, s, vs, []byte(d))
	}
	for range 3000 {
		data, err := s.Marshal(nil, randExOrder(r))
		if err != nil {
			t.Fatal(err)
		}
		exact += checkJSONReadExactly(t, s, vs, damageJSON(r, data))
	}
	if exact == 0 {
		t.Error("nothing was read exactly")
	}
}

// damageJSON changes up to three bytes of a copy of data into bytes that keep it JSON
// more often than not.
func damageJSON(r *rand.Rand, data []byte) []byte {
	data = bytes.Clone(data)
	for range r.IntN(4) {
		data[r.IntN(len(data))] = "{}[],:\"0159-e. aAI\\n"[r.IntN(20)]
	}
	return data
}

func randExOrder(r *rand.Rand) exOrder {
	strs := []string{"", "o1", "o12345", "ABC-1", "AB-12", "é", "EUR", "USD", "x\"y"}
	floats := []float64{0, 0.25, 1, 1.5, 2.75, 1000, 1000.25, -1, 0.1, 1e21, 1e-7, math.MaxFloat64}
	o := exOrder{ID: strs[r.IntN(len(strs))]}
	for range r.IntN(4) {
		o.Lines = append(o.Lines, exLine{SKU: strs[r.IntN(len(strs))], Title: strings.Repeat("t", r.IntN(5)), Quantity: r.IntN(102),
			UnitPrice: exMoney{floats[r.IntN(len(floats))], strs[r.IntN(len(strs))]}})
	}
	if r.IntN(2) == 0 {
		o.Note, o.Ratio, o.Big = strs[r.IntN(len(strs))], floats[r.IntN(len(floats))], r.Uint64()>>r.IntN(64)
		o.Ship = &exMoney{floats[r.IntN(len(floats))], "EUR"}
	}
	return o
}

// FuzzJSONReadExactly: any document read exactly into any of the types gets, from every
// validator, the verdict of the JSON written for the value read.
func FuzzJSONReadExactly(f *testing.F) {
	for _, d := range exactSeeds {
		f.Add([]byte(d))
	}
	s := codec.NewJSON(codec.DefaultLimits())
	vs := exactValidators(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		checkJSONReadExactly(t, s, vs, data)
	})
}
