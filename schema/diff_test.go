package schema_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/jesus-go/jesus/schema"
)

// The differential tests: the fast path (Validate) and jsonschema/v5 alone (ValidJS) must
// give the same verdict for every schema and every instance.

func loadEdge(t testing.TB) *schema.Set {
	t.Helper()
	s, err := schema.LoadDir("../schemas")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("testdata/edge/edge.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Add("edge.json", b); err != nil {
		t.Fatal(err)
	}
	return s
}

func allValidators(t testing.TB, s *schema.Set) []*schema.Validator {
	t.Helper()
	var out []*schema.Validator
	for _, d := range s.Services() {
		for _, p := range d.Parts() {
			v, err := s.Validator(d.Service, d.Version, p.Part, p.Name)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, v)
		}
	}
	return out
}

func checkSame(t testing.TB, v *schema.Validator, x any) {
	t.Helper()
	err := v.Validate(x)
	js := v.ValidJS(x)
	if (err == nil) != js {
		t.Fatalf("%s@%s %s %s: fast valid=%v, jsonschema valid=%v for %s (err: %v)", v.Service, v.Version, v.Name, v.Part, err == nil, js, show(x), err)
	}
	if err != nil {
		if _, ok := err.(*schema.ValidationError); !ok {
			t.Fatalf("error of type %T, want *schema.ValidationError", err)
		}
	}
}

func show(x any) string {
	return fmt.Sprintf("%#v", x)
}

var edgeNumbers = []any{
	json.Number("0"), json.Number("-0"), json.Number("1"), json.Number("1.0"), json.Number("1e2"),
	json.Number("1.5e1"), json.Number("0.07"), json.Number("19.99"), json.Number("0.1"), json.Number("0.3"),
	json.Number("0.6666"), json.Number("0.9999"), json.Number("9007199254740993"), json.Number("9007199254740992"),
	json.Number("18446744073709551616"), json.Number("18446744073709551615"), json.Number("-9007199254740993"),
	json.Number("-9007199254740994"), json.Number("1e308"), json.Number("1e-320"), json.Number("1e20"), json.Number("2e20"),
	json.Number("100000000000000000000"), json.Number("12"), json.Number("3"), json.Number("2"), json.Number("20"),
	json.Number("19.990000000000001"), json.Number("0.1000000000000000055511151231257827"),
	json.Number("0.1000000000000000055511151231257828"), json.Number("1e400"), json.Number("-1e400"),
	json.Number("123456789012345678901234567890"), json.Number("4.9e-324"), json.Number("1E+2"), json.Number("0.01"),
	json.Number("10.5"), json.Number("7e0"), json.Number("10000"), json.Number("10001"), json.Number("1000000000"),
	json.Number("1000000000.01"), json.Number("-0.01"), json.Number("0.010"), json.Number("1e-2"), json.Number("3.00"),
	json.Number("1.50e1"), json.Number("100e-2"), json.Number("1000e-3"), json.Number("0.0"), json.Number("-0.0e5"),
	json.Number("12.30e1"), json.Number("12.34e1"), json.Number("1e999"), json.Number("-1.5E-999"), json.Number("14.000000000000000000001"), json.Number("1e-7"),
	0.0, math.Copysign(0, -1), 0.07, 19.99, 0.1, 0.3, 1e308, 1e-320, 9007199254740993.0, 1e20, 2.5, 12.0, 1.0,
	20.0, math.Nextafter(19.99, 20), math.MaxFloat64, 5e-324, 0.1 + 0.2, 14.0, 0.6666, 3e20,
	int64(0), int64(12), int64(-1), int64(math.MaxInt64), int64(math.MinInt64), int64(1<<53 + 1), int64(7), int64(21),
	uint64(math.MaxUint64), uint64(1 << 63), uint64(9007199254740993), 12, -7,
}

var edgeStrings = []any{
	"", "a", "ab", "abc", "abcd", "é", "e\u0301", "e\u0301\u0301", "😀", "😀😀", "a😀", "😀😀😀😀", "\xff\xfe", "x-1",
	"user@example.com", "not an email", "2024-01-02T03:04:05Z", "2024-13-01", "2024-02-29", "2023-02-29",
	"123e4567-e89b-12d3-a456-426614174000", "192.168.0.1", "256.1.1.1", "http://x/y", "ABC-1234", "EUR",
	"order.created", "log", "a", "new", "Ω9", "٣", "kind", "c1",
}

var edgeKeys = []string{"a", "b", "x-1", "x-", "kind", "value", "children", "next", "abcd", "id", "customer", "lines", "currency", "status"}

func genValue(r *rand.Rand, depth int) any {
	switch k := r.IntN(10); {
	case k == 0:
		return nil
	case k == 1:
		return r.IntN(2) == 0
	case k <= 4:
		return edgeNumbers[r.IntN(len(edgeNumbers))]
	case k <= 6 || depth > 4:
		return edgeStrings[r.IntN(len(edgeStrings))]
	case k == 7:
		n := r.IntN(5)
		if r.IntN(8) == 0 {
			n = 21 + r.IntN(10) // the hashed uniqueItems path
		}
		a := make([]any, n)
		for i := range a {
			a[i] = genValue(r, depth+1)
		}
		if n > 1 && r.IntN(3) == 0 {
			a[n-1] = a[r.IntN(n-1)]
		}
		return a
	default:
		n := r.IntN(5)
		m := make(map[string]any, n)
		for i := 0; i < n; i++ {
			m[edgeKeys[r.IntN(len(edgeKeys))]] = genValue(r, depth+1)
		}
		return m
	}
}

// mutate returns a copy of x with random changes, so that generated instances stay close to
// valid ones.
func mutate(r *rand.Rand, x any) any {
	switch t := x.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, v := range t {
			switch r.IntN(12) {
			case 0: // drop
			case 1:
				m[k] = genValue(r, 3)
			default:
				m[k] = mutate(r, v)
			}
		}
		if r.IntN(10) == 0 {
			m[edgeKeys[r.IntN(len(edgeKeys))]] = genValue(r, 3)
		}
		return m
	case []any:
		a := make([]any, 0, len(t)+1)
		for _, v := range t {
			if r.IntN(15) != 0 {
				a = append(a, mutate(r, v))
			}
		}
		if len(a) > 0 && r.IntN(10) == 0 {
			a = append(a, a[0])
		}
		return a
	case string:
		if r.IntN(6) == 0 {
			return edgeStrings[r.IntN(len(edgeStrings))]
		}
	case nil, bool:
		if r.IntN(6) == 0 {
			return genValue(r, 3)
		}
	default:
		if r.IntN(4) == 0 {
			return edgeNumbers[r.IntN(len(edgeNumbers))]
		}
	}
	return x
}

// decode decodes JSON the way codec's JSON serializer does: numbers as json.Number.
func decode(t testing.TB, s string) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader([]byte(s)))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// floaty converts json.Numbers to float64 or int64, the way a msgpack decoder delivers numbers.
func floaty(x any) any {
	return mapLeaves(x, func(x any) any {
		n, ok := x.(json.Number)
		if !ok {
			return x
		}
		if i, err := n.Int64(); err == nil {
			return i
		}
		f, _ := n.Float64()
		if math.IsInf(f, 0) {
			return n
		}
		return f
	})
}

// clone copies the objects and arrays of x; leaves are shared.
func clone(x any) any { return mapLeaves(x, func(x any) any { return x }) }

// mapLeaves returns x with its objects and arrays copied and each other value (a leaf)
// replaced by leaf(it).
func mapLeaves(x any, leaf func(any) any) any {
	switch t := x.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, v := range t {
			m[k] = mapLeaves(v, leaf)
		}
		return m
	case []any:
		a := make([]any, len(t))
		for i, v := range t {
			a[i] = mapLeaves(v, leaf)
		}
		return a
	}
	return leaf(x)
}

func TestDifferentialEdgeValues(t *testing.T) {
	s := loadEdge(t)
	vals := allValidators(t, s)
	var all []any
	all = append(all, edgeNumbers...)
	all = append(all, edgeStrings...)
	all = append(all, nil, true, false, []any{}, map[string]any{},
		[]any{json.Number("1"), 1.0}, []any{json.Number("1"), int64(2), 1.0}, []any{"a", "b"},
		[]any{json.Number("1"), "x"}, map[string]any{"a": json.Number("1")}, map[string]any{"a": 1.0},
		[]any{"user@example.com", "2024-01-02T03:04:05Z", "123e4567-e89b-12d3-a456-426614174000", "10.0.0.1", "http://x", "zz", "2024-02-29"},
		[]any{"bad", "bad", "bad", "bad", "bad", "bad", "bad"},
		map[string]any{"a": nil, "b": json.Number("0.5"), "x-1": "s"}, map[string]any{"a": "s", "c": true},
		map[string]any{"b": json.Number("1")}, map[string]any{"a": true}, map[string]any{"kind": "a", "a": 1.0},
		map[string]any{"kind": "b", "a": 1.0}, map[string]any{"value": int64(1), "children": []any{map[string]any{"value": 1.5}}},
		[]any{"s", int64(1)}, []any{"s", int64(1), "x"}, []any{int64(1)},
		map[string]any{"abc": 1.0, "a": []any{json.Number("1"), 1.0}, "b": true},
		map[string]any{"next": map[string]any{"next": json.Number("1")}},
	)
	for _, v := range vals {
		for _, x := range all {
			checkSame(t, v, x)
		}
	}
}

func TestDifferentialGenerated(t *testing.T) {
	s := loadEdge(t)
	vals := allValidators(t, s)
	r := rand.New(rand.NewPCG(1, 2))
	n := 300
	if testing.Short() {
		n = 50
	}
	samples := []any{decode(t, smallOrder), decode(t, largeOrder(60)), floaty(decode(t, largeOrder(3)))}
	for _, v := range vals {
		for i := 0; i < n; i++ {
			checkSame(t, v, genValue(r, 0))
		}
		for _, smp := range samples {
			for i := 0; i < n/3; i++ {
				checkSame(t, v, mutate(r, smp))
			}
		}
	}
}

func FuzzValidateDifferential(f *testing.F) {
	f.Add(`{"type":"integer","minimum":1}`, `9007199254740993`)
	f.Add(`{"multipleOf":0.01}`, `0.07`)
	f.Add(`{"multipleOf":0.01}`, `19.99`)
	f.Add(`{"maximum":1e308,"minimum":-0}`, `1e-320`)
	f.Add(`{"type":"string","maxLength":2}`, `"e\u0301\u0301"`)
	f.Add(`{"type":"string","pattern":"^\\p{L}+$"}`, `"😀"`)
	f.Add(`{"format":"email"}`, `"a@b.c"`)
	f.Add(`{"enum":[1,"a",[1]]}`, `1.0`)
	f.Add(`{"uniqueItems":true}`, `[1,1.0]`)
	f.Add(`{"$defs":{"a":{"items":{"$ref":"#/$defs/a"}}},"$ref":"#/$defs/a"}`, `[[[]]]`)
	f.Add(`{"oneOf":[{"type":"integer"},{"minimum":2}]}`, `3`)
	f.Add(`{"properties":{"a":false},"additionalProperties":{"type":"null"}}`, `{"b":null}`)
	f.Add(`{"unevaluatedProperties":false,"allOf":[{"properties":{"a":true}}]}`, `{"a":1,"b":2}`)
	f.Fuzz(func(t *testing.T, sch, inst string) {
		if len(sch) > 4096 || len(inst) > 4096 {
			return
		}
		var raw any
		if json.Unmarshal([]byte(sch), &raw) != nil {
			return
		}
		desc := `{"service":"fz","version":"1.0.0","channels":{"c":"tcp"},"methods":{"m":{"mode":"noResponse","channel":"c","request":` + sch + `}}}`
		s := schema.NewSet()
		if s.Add("fz.json", []byte(desc)) != nil {
			return
		}
		v, err := s.Validator("fz", "1.0.0", schema.PartRequest, "m")
		if err != nil {
			t.Fatal(err)
		}
		d := json.NewDecoder(bytes.NewReader([]byte(inst)))
		d.UseNumber()
		var x any
		if d.Decode(&x) != nil {
			return
		}
		checkSame(t, v, x)
		checkSame(t, v, floaty(x))
	})
}

func nanValue() any           { return math.NaN() }
func infValue() any           { return math.Inf(1) }
func jsonNumber(s string) any { return json.Number(s) }

// FuzzAdd feeds arbitrary descriptor files to a set: no panic, and a descriptor that loads
// bundles into a document that loads alone.
func FuzzAdd(f *testing.F) {
	for _, n := range []string{"orders.json", "billing.json", "audit.json"} {
		b, err := os.ReadFile("../schemas/" + n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"service":"x","version":"1.0.0","channels":{"c":"udp"},"methods":{"m":{"mode":"stream","channel":"c","request":{},"response":{}}}}`))
	f.Add([]byte(`{"service":"x","version":"1.0.0","channels":{"c":"tcp"},"methods":{"m":{"mode":"ack","channel":"c","request":{"$ref":"common.defs.json#/$defs/Money"}}}}`))
	common, err := os.ReadFile("../schemas/common.defs.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := schema.NewSet()
		if err := s.Add("common.defs.json", common); err != nil {
			t.Fatal(err)
		}
		if s.Add("fz.json", data) != nil {
			return
		}
		for _, d := range s.Services() {
			b, err := d.Bundle()
			if err != nil {
				continue // e.g. a $id in a referenced schema
			}
			if err := schema.NewSet().Add("fz.json", b); err != nil {
				t.Fatalf("bundle does not load alone: %v\n%s", err, b)
			}
		}
	})
}

// poison replaces one random leaf (or an empty container) of x by bad.
func poison(r *rand.Rand, x, bad any) any {
	switch t := x.(type) {
	case map[string]any:
		m := make(map[string]any, len(t)+1)
		for k, v := range t {
			m[k] = v
		}
		if len(t) == 0 || r.IntN(4) == 0 {
			m[edgeKeys[r.IntN(len(edgeKeys))]] = bad
			return m
		}
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		k := keys[r.IntN(len(keys))]
		m[k] = poison(r, t[k], bad)
		return m
	case []any:
		a := append([]any(nil), t...)
		if len(a) == 0 || r.IntN(4) == 0 {
			return append(a, bad)
		}
		i := r.IntN(len(a))
		a[i] = poison(r, a[i], bad)
		return a
	}
	return bad
}

// Every value with a part that precheck refuses is refused, wherever that part is: the
// fast path checks the bounds of the members it does not visit.
func TestBoundsEverywhere(t *testing.T) {
	s := loadEdge(t)
	vals := allValidators(t, s)
	var deep any = "x"
	for i := 0; i < schema.DefaultMaxDepth+2; i++ {
		deep = []any{deep}
	}
	bads := []any{math.NaN(), math.Inf(-1), json.Number("1e99999"), json.Number("x"), struct{}{}, []string{}, deep, int32(1)}
	r := rand.New(rand.NewPCG(3, 4))
	samples := []any{decode(t, smallOrder), decode(t, largeOrder(2))}
	for _, v := range vals {
		for i := 0; i < 100; i++ {
			base := genValue(r, 0)
			if i%2 == 0 {
				base = samples[i%len(samples)]
			}
			x := poison(r, base, bads[r.IntN(len(bads))])
			if err := v.Validate(x); err == nil {
				t.Fatalf("%s@%s %s %s accepted %s", v.Service, v.Version, v.Name, v.Part, show(x))
			}
		}
	}
}
