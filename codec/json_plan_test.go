package codec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// The types of the JSON plan tests: every kind a plan covers, named and not, nested,
// recursive, with the field names and options encoding/json reads.

type jpStatus string

type jpInner struct {
	A int      `json:"a"`
	B jpStatus `json:"b,omitempty"`
	C *float64 `json:"c"`
}

type jpAll struct {
	ID     string              `json:"id"`
	N      int8                `json:"n"`
	I64    int64               `json:"i64,omitempty"`
	U      uint16              `json:"u,omitempty"`
	U64    uint64              `json:"u64"`
	F      float64             `json:"f"`
	F32    float32             `json:"f32,omitempty"`
	OK     bool                `json:"ok"`
	Tags   []string            `json:"tags"`
	M      map[string]int      `json:"m,omitempty"`
	MS     map[jpStatus][]uint `json:"ms"`
	In     jpInner             `json:"in"`
	P      *jpInner            `json:"p"`
	L      []*jpInner          `json:"l,omitempty"`
	Skip   int                 `json:"-"`
	hidden int
	Upper  string // no tag: its own name
	Kelvin string `json:"K"` // the Kelvin sign folds to it
	Dash   int    `json:"-,"`
	Bad    string `json:"a\"b"` // not a valid name: the field's own
}

// jpZero has a field left out by omitzero: it reads, never exactly.
type jpZero struct {
	Zero int    `json:"zero,omitzero"`
	ID   string `json:"id"`
}

type jpNode struct {
	V    int       `json:"v"`
	Next *jpNode   `json:"next"`
	Kids []*jpNode `json:"kids,omitempty"`
}

// jpTwice has two fields of one name, X: encoding/json keeps the tagged one.
type jpTwice struct {
	A int `json:"X"`
	X int
}

type jpNoPlan struct {
	Raw []byte `json:"raw"`
}

// oldJSONUnmarshal is how the serializer decoded a typed value before plans: the bounds
// scan, then encoding/json.
func oldJSONUnmarshal(s *jsonSerializer, data []byte, v any) error {
	if err := checkJSON(data, s.maxDepth); err != nil {
		return err
	}
	return jsonError(json.Unmarshal(data, v))
}

// compareJSONPlanRead decodes data into a T with the serializer and the old way, and
// fails unless both agree: the same error, the same value. It reports whether the plan
// read it exactly.
func compareJSONPlanRead[T any](t testing.TB, s *jsonSerializer, data []byte) (planned, exact bool) {
	t.Helper()
	var got, want, viaPlan T
	errGot := s.Unmarshal(data, &got)
	errWant := oldJSONUnmarshal(s, data, &want)
	if fmt.Sprint(errGot) != fmt.Sprint(errWant) {
		t.Fatalf("%q into %T: serializer: %v; before: %v", data, got, errGot, errWant)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: serializer read\n%+v\nbefore\n%+v", data, got, want)
	}
	exact, planned = s.unmarshalPlanned(data, &viaPlan)
	if planned && (errWant != nil || !reflect.DeepEqual(viaPlan, want)) {
		t.Fatalf("%q: the plan read %+v, encoding/json %+v (%v)", data, viaPlan, want, errWant)
	}
	if exact {
		checkJSONExact(t, s, data, viaPlan)
	}
	return planned, exact
}

// checkJSONExact fails t unless data holds what the serializer writes for got, but for
// white space, escapes, the order of map keys and the spelling of numbers: both read as
// the same JSON value (numbers compared as values).
func checkJSONExact(t testing.TB, s *jsonSerializer, data []byte, got any) {
	t.Helper()
	again, err := s.Marshal(nil, got)
	if err != nil {
		t.Fatalf("%q: read exactly into %+v, which does not write: %v", data, got, err)
	}
	a, errA := s.UnmarshalValue(data)
	b, errB := s.UnmarshalValue(again)
	if errA != nil || errB != nil || !sameJSONValue(a, b) {
		t.Fatalf("%q: read exactly, but writes as %s:\n%#v (%v)\n%#v (%v)", data, again, a, errA, b, errB)
	}
}

// sameJSONValue compares JSON values, numbers by their exact value.
func sameJSONValue(a, b any) bool {
	switch x := a.(type) {
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		p, okp := new(big.Rat).SetString(string(x))
		q, okq := new(big.Rat).SetString(string(y))
		return okp && okq && p.Cmp(q) == 0
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameJSONValue(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !sameJSONValue(v, w) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

var jsonPlanSeeds = []string{
	`{"id":"o-1","n":-128,"u64":18446744073709551615,"f":1.5,"ok":true,"tags":["a","b"],"ms":{"x":[1,2]},"in":{"a":1,"c":null},"p":{"a":2,"b":"s","c":0.25},"Upper":"u","K":"k","-":3,"Bad":"b","zero":0}`,
	`{"id":"o-1","n":0,"u64":0,"f":0,"ok":false,"tags":null,"ms":null,"in":{"a":0,"c":null},"p":null,"Upper":"","K":"","-":0,"Bad":"","zero":0}`,
	`{"ID":"x","N":1,"UPPER":"u","k":"k","\u212a":"kelvin","u":0,"b":"x","skip":1,"hidden":2}`,
	`{"n":128}`, `{"n":1.0}`, `{"n":1e2}`, `{"u":-0}`, `{"n":-0}`, `{"u64":18446744073709551616}`, `{"f":1e400}`, `{"f32":1e39}`,
	`{"tags":[1]}`, `{"in":[]}`, `{"id":null,"n":null,"ok":null,"in":null,"f":null}`, `{"id":"a","id":"b"}`, `{"in":{"a":1},"IN":{"c":2}}`,
	`{"m":{"a":1,"a":2},"p":{"a":1}}`, `{"l":[null,{"a":1},{}]}`, `{"tags":[]}`, `{"id":"\ud800\u00e9\n","Upper":"\xff"}`,
	` {"v":1,"next":{"v":2,"next":null,"kids":[{"v":3,"next":null}]}} `, `[{"v":1,"next":null}]`, `null`, `{"v":1}x`,
	`{"v":1,"next":{"v":2,"next":{"v":3,"next":{"v":4,"next":{"v":5}}}}}`, `[1,2,3]`, `["a",null]`, `"s"`, `1.25`, `{"a":[1,{"b":2}]}`,
	`{"f":100,"n":1}`, `{"f":0.1000000000000000055511151231257827}`, `{"f":1e-320}`, `{"f":123456789012345678}`, `{"f":-0.0}`,
}

// jsonPlanTypes decodes data into every test type; it returns how many had a plan read
// it and how many read exactly.
func jsonPlanTypes(t testing.TB, s *jsonSerializer, data []byte) (planned, exact int) {
	count := func(p, e bool) {
		if p {
			planned++
		}
		if e {
			exact++
		}
	}
	count(compareJSONPlanRead[jpAll](t, s, data))
	count(compareJSONPlanRead[*jpAll](t, s, data))
	count(compareJSONPlanRead[jpNode](t, s, data))
	count(compareJSONPlanRead[[]jpNode](t, s, data))
	count(compareJSONPlanRead[[]int](t, s, data))
	count(compareJSONPlanRead[[]*string](t, s, data))
	count(compareJSONPlanRead[map[string][]float64](t, s, data))
	count(compareJSONPlanRead[string](t, s, data))
	count(compareJSONPlanRead[float64](t, s, data))
	count(compareJSONPlanRead[uint8](t, s, data))
	count(compareJSONPlanRead[jpNoPlan](t, s, data))
	count(compareJSONPlanRead[jpZero](t, s, data))
	return planned, exact
}

// TestJSONPlanReadsAsEncodingJSON: documents of every kind read through a plan exactly as
// encoding/json reads them, or are left to it; errors are the ones they were.
func TestJSONPlanReadsAsEncodingJSON(t *testing.T) {
	s := NewJSON(Limits{MaxDepth: 4}).(*jsonSerializer)
	planned, exact := 0, 0
	for _, seed := range jsonPlanSeeds {
		p, e := jsonPlanTypes(t, s, []byte(seed))
		planned += p
		exact += e
	}
	if planned == 0 || exact == 0 {
		t.Errorf("%d reads through a plan, %d exact", planned, exact)
	}
}

// TestJSONPlanCoverage: the types a plan covers, and those left to encoding/json.
func TestJSONPlanCoverage(t *testing.T) {
	for _, c := range []struct {
		typ  reflect.Type
		want bool
	}{
		{reflect.TypeFor[jpAll](), true},
		{reflect.TypeFor[jpNode](), true},
		{reflect.TypeFor[map[jpStatus]*jpInner](), true},
		{reflect.TypeFor[jpNoPlan](), false},
		{reflect.TypeFor[[]any](), false},
		{reflect.TypeFor[[2]int](), false},
		{reflect.TypeFor[json.Number](), false},
		{reflect.TypeFor[json.RawMessage](), false},
		{reflect.TypeFor[map[int]string](), false},
		{reflect.TypeFor[struct{ jpInner }](), false},
		{reflect.TypeFor[struct {
			N int `json:"n,string"`
		}](), false},
		{reflect.TypeFor[jpTwice](), false},
		{reflect.TypeFor[**int](), false},
		{reflect.TypeFor[textBytes](), false},
	} {
		if got := jsonPlanOf(c.typ) != nil; got != c.want {
			t.Errorf("%v: plan %v, want %v", c.typ, got, c.want)
		}
	}
}

// TestJSONPlanRandom: documents written for random values, and then damaged, read alike.
func TestJSONPlanRandom(t *testing.T) {
	s := NewJSON(Limits{}).(*jsonSerializer)
	r := rand.New(rand.NewPCG(11, 12))
	exact := 0
	for range 2000 {
		data, err := json.Marshal(randJP(r, 3))
		if err != nil {
			t.Fatal(err)
		}
		for range r.IntN(3) {
			data[r.IntN(len(data))] = "{}[],:\"0-e. aAzK\\"[r.IntN(17)]
		}
		_, e := jsonPlanTypes(t, s, data)
		exact += e
	}
	if exact == 0 {
		t.Error("nothing was read exactly")
	}
}

func randJP(r *rand.Rand, depth int) jpAll {
	str := func() string {
		return []string{"", "a", "é", "K", "\u2028", strings.Repeat("x", r.IntN(300))}[r.IntN(6)]
	}
	v := jpAll{ID: str(), N: int8(r.Int()), U64: r.Uint64() >> r.IntN(64), F: r.NormFloat64() * float64(r.IntN(1000)), OK: r.IntN(2) == 0, Upper: str(), Kelvin: str()}
	if r.IntN(2) == 0 {
		v.I64, v.U, v.F32 = r.Int64(), uint16(r.IntN(3)), float32(r.IntN(3))/2
	}
	if r.IntN(2) == 0 {
		v.Tags = []string{str(), str()}
		v.M = map[string]int{str(): r.IntN(3)}
		v.MS = map[jpStatus][]uint{jpStatus(str()): {uint(r.IntN(9))}}
	}
	c := r.Float64()
	v.In = jpInner{A: r.IntN(5) - 2, B: jpStatus(str()), C: &c}
	if depth > 0 && r.IntN(2) == 0 {
		v.P = &jpInner{A: 1}
		v.L = []*jpInner{nil, {B: "x"}}
	}
	return v
}

// FuzzJSONPlan: any input reads the same through a plan as through encoding/json, with
// the same error; what a plan reads exactly writes back as the same JSON value.
func FuzzJSONPlan(f *testing.F) {
	for _, s := range jsonPlanSeeds {
		f.Add([]byte(s))
	}
	r := rand.New(rand.NewPCG(13, 14))
	for range 10 {
		data, _ := json.Marshal(randJP(r, 2))
		f.Add(data)
	}
	s := NewJSON(Limits{MaxDepth: 8}).(*jsonSerializer)
	f.Fuzz(func(t *testing.T, data []byte) {
		jsonPlanTypes(t, s, data)
	})
}

// TestJSONPlanBounds: hostile documents stay within the limits: nesting deeper than the
// limit is refused as before, before the plan has read far.
func TestJSONPlanBounds(t *testing.T) {
	s := NewJSON(Limits{}).(*jsonSerializer)
	deep := []byte(strings.Repeat(`{"next":`, 100) + `null` + strings.Repeat(`}`, 100))
	var n jpNode
	if err := s.Unmarshal(deep, &n); err == nil || !strings.Contains(err.Error(), "deeper") {
		t.Fatalf("100 levels: %v", err)
	}
	keys := bytes.Repeat([]byte(`"k":1,`), 100000)
	doc := append(append([]byte(`{`), keys...), `"v":2}`...)
	var m jpNode
	if err := s.Unmarshal(doc, &m); err != nil || m.V != 2 {
		t.Fatalf("many unknown keys: %v, %+v", err, m)
	}
}

func BenchmarkJSONPlan(b *testing.B) {
	s := NewJSON(Limits{}).(*jsonSerializer)
	for _, n := range []int{2, 60} {
		lines := make([]planLine, n)
		for i := range lines {
			lines[i] = planLine{SKU: fmt.Sprintf("SKU-%d", 1000+i), Qty: 1 + i%7, Price: planMoney{3.25 + float64(i), "EUR"}}
		}
		data, err := s.Marshal(nil, lines)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("lines%d/plan", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				var x []planLine
				if err := s.Unmarshal(data, &x); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("lines%d/encoding-json", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				var x []planLine
				if err := s.libraryUnmarshal(data, &x); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestJSONExactCases: what reads exactly, and what does not.
func TestJSONExactCases(t *testing.T) {
	s := NewJSON(Limits{}).(*jsonSerializer)
	line := func(doc string) (bool, error) {
		var x planLine
		return s.UnmarshalExact([]byte(doc), &x)
	}
	for _, c := range []struct {
		doc  string
		want bool
	}{
		{`{"sku":"A","quantity":1,"unitPrice":{"amount":1.5,"currency":"EUR"}}`, true},
		{` { "sku" : "\u0041" , "quantity":1,"unitPrice":{"currency":"EUR","amount":15e-1}} `, true}, // white space, escapes, order, spelling
		{`{"sku":"A","quantity":1,"unitPrice":{"amount":1.5,"currency":"EUR"},"note":null}`, false},  // a nil pointer marked omitempty: Marshal leaves it out
		{`{"sku":"A","quantity":1,"unitPrice":{"amount":1.5,"currency":"EUR"},"tags":[]}`, false},    // empty, Marshal leaves it out
		{`{"sku":"A","quantity":1,"unitPrice":{"amount":1.5,"currency":"EUR"},"tags":["x"]}`, true},
		{`{"SKU":"A","quantity":1,"unitPrice":{"amount":1.5,"currency":"EUR"}}`, false},       // matched case-insensitively
		{`{"sku":"A","quantity":1,"unitPrice":{"amount":1.5,"currency":"EUR"},"x":1}`, false}, // unknown key
		{`{"sku":"A","unitPrice":{"amount":1.5,"currency":"EUR"}}`, false},                    // missing field
		{`{"sku":null,"quantity":1,"unitPrice":{"amount":1.5,"currency":"EUR"}}`, false},      // null into a string
		{`{"sku":"A","quantity":1,"unitPrice":null}`, false},                                  // null into a struct
		{`{"sku":"A","quantity":1,"unitPrice":{"amount":0.1000000000000000055511151231257827,"currency":"EUR"}}`, false},
		{`{"sku":"A","quantity":1,"unitPrice":{"amount":1e-310,"currency":"EUR"}}`, false},
	} {
		exact, err := line(c.doc)
		if err != nil || exact != c.want {
			t.Errorf("%s: exact %v (%v), want %v", c.doc, exact, err, c.want)
		}
	}
	var m map[string]int
	if exact, err := s.UnmarshalExact([]byte(`{"a":1,"a":2}`), &m); err != nil || exact || m["a"] != 2 {
		t.Errorf("a repeated map key: exact %v (%v), %v", exact, err, m)
	}
	if exact, err := s.UnmarshalExact([]byte(`{"a":1,"b":2}`), &m); err != nil || exact {
		t.Errorf("into a map that is not empty: exact %v (%v)", exact, err)
	}
}
