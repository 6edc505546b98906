package schema_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/jesus-go/jesus/codec"
	"github.com/jesus-go/jesus/schema"
)

// typedDescriptor holds the schemas the value checks are compared on: one per method's
// request, each leaning on other keywords.
const typedDescriptor = `{
  "service": "typed", "version": "1.0.0", "channels": {"rpc": "tcp+msgpack"},
  "$defs": {
    "ID": {"type": "string", "pattern": "^[a-z]{1,4}_[0-9A-Za-z]{6,32}$"},
    "Currency": {"type": "string", "enum": ["EUR", "USD", "GBP"]},
    "Money": {"type": "object", "required": ["amount", "currency"], "additionalProperties": false,
      "properties": {"amount": {"type": "number", "minimum": 0, "maximum": 1000}, "currency": {"$ref": "#/$defs/Currency"}}},
    "Line": {"type": "object", "required": ["sku", "quantity", "unitPrice"], "additionalProperties": false,
      "properties": {"sku": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{4,8}$"}, "title": {"type": "string", "maxLength": 12},
        "quantity": {"type": "integer", "minimum": 1, "maximum": 100}, "unitPrice": {"$ref": "#/$defs/Money"}}},
    "Tree": {"type": "object", "required": ["name"],
      "properties": {"name": {"type": "string", "minLength": 1}, "kids": {"type": "array", "maxItems": 3, "items": {"$ref": "#/$defs/Tree"}}}}
  },
  "methods": {
    "order": {"mode": "noResponse", "channel": "rpc", "request": {
      "type": "object", "required": ["id", "customer", "currency", "placedAt", "status", "lines"], "additionalProperties": false,
      "properties": {
        "id": {"$ref": "#/$defs/ID"},
        "customer": {"type": "object", "required": ["id", "email"], "properties": {"id": {"$ref": "#/$defs/ID"}, "email": {"type": "string", "format": "email"}}},
        "currency": {"$ref": "#/$defs/Currency"}, "placedAt": {"type": "string", "format": "date-time"},
        "status": {"enum": ["new", "paid", null, 1]}, "shipTo": {"type": ["object", "null"]},
        "lines": {"type": "array", "minItems": 1, "maxItems": 4, "items": {"$ref": "#/$defs/Line"}},
        "note": {"type": "string", "maxLength": 20}, "extra": {"type": "integer", "multipleOf": 3},
        "flag": {"const": true}, "u": {"type": "integer", "maximum": 9223372036854775808},
        "ratio": {"type": "integer"}, "small": {"exclusiveMinimum": 1}, "ptr": {"type": ["integer", "null"], "maximum": 5},
        "blob": {"type": ["string", "null"]}
      }}},
    "loose": {"mode": "noResponse", "channel": "rpc", "request": {
      "type": "object", "minProperties": 2, "maxProperties": 7, "dependentRequired": {"note": ["shipTo"], "n": ["f"]},
      "required": ["id"]}},
    "others": {"mode": "noResponse", "channel": "rpc", "request": {
      "type": "object", "properties": {"n": {"type": "integer", "minimum": 0, "maximum": 100, "multipleOf": 2},
        "amount": {"type": "number", "minimum": 0.1, "maximum": 1e308}, "currency": {"enum": ["EUR", "", 1]},
        "quantity": {"minimum": 0.5, "maximum": 100}, "sku": {"type": "string"}, "name": {"maximum": 1e400}},
      "additionalProperties": {"type": ["string", "number", "boolean", "null", "array", "object"], "maxLength": 3, "maximum": 10}}},
    "mixed": {"mode": "noResponse", "channel": "rpc", "request": {
      "type": "object", "required": ["n", "f", "b", "s", "xs"],
      "properties": {
        "n": {"enum": [1, 2, 300, 1.5, -128]}, "f": {"type": "integer", "minimum": -5}, "u": {"enum": [0, 18446744073709551615]},
        "b": {"const": false}, "s": {"enum": [null, "a", "héllo"]}, "i16": {"maximum": 127},
        "xs": {"type": ["array", "null"], "prefixItems": [{"type": "integer", "maximum": 5}, {"type": "string"}], "items": {"type": "number", "minimum": 0}},
        "obj": {"type": ["object", "null"], "required": ["amount"], "properties": {"amount": {"maximum": 10}}},
        "raw": {"type": "null"}, "note": {"format": "uuid"}
      }}},
    "tree": {"mode": "noResponse", "channel": "rpc", "request": {"$ref": "#/$defs/Tree"}},
    "anything": {"mode": "noResponse", "channel": "rpc", "request": true},
    "nothing": {"mode": "noResponse", "channel": "rpc", "request": false},
    "list": {"mode": "noResponse", "channel": "rpc", "request": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/Tree"}}}
  }
}`

type tMoney struct {
	Amount   float64 `json:"amount"`
	Currency string  `json:"currency"`
}

type tLine struct {
	SKU       string `json:"sku"`
	Title     string `json:"title,omitempty"`
	Quantity  int    `json:"quantity"`
	UnitPrice tMoney `json:"unitPrice"`
}

type tCustomer struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name,omitempty"`
}

type tOrder struct {
	ID       string    `json:"id"`
	Customer tCustomer `json:"customer"`
	Currency string    `json:"currency"`
	PlacedAt string    `json:"placedAt"`
	Status   string    `json:"status"`
	ShipTo   *tMoney   `json:"shipTo,omitempty"`
	Lines    []tLine   `json:"lines"`
	Note     string    `json:"note,omitempty"`
	Extra    int8      `json:"extra,omitempty"`
	Flag     bool      `json:"flag,omitempty"`
	U        uint64    `json:"u,omitempty"`
	Ratio    float64   `json:"ratio,omitempty"`
	Small    uint8     `json:"small,omitempty"`
	Ptr      *int      `json:"ptr,omitempty"`
	Blob     []byte    `json:"blob,omitempty"`
	hidden   int
}

type tTree struct {
	Name string  `json:"name"`
	Kids []tTree `json:"kids,omitempty"`
}

type tMixed struct {
	N    int       `json:"n"`
	F    float64   `json:"f"`
	U    uint64    `json:"u"`
	B    bool      `json:"b"`
	S    *string   `json:"s"`
	Xs   []float64 `json:"xs"`
	Obj  *tMoney   `json:"obj"`
	Raw  []byte    `json:"raw"`
	I16  int16     `json:"i16,omitempty"`
	Note string    `json:"note,omitempty"`
	Skip string    `json:"-"`
}

// tHolder is held in an interface's data word itself (one pointer).
type tHolder struct {
	P *tMoney `json:"p"`
}

// tEmbeds has an embedded struct: encoding/json promotes its fields, so no JSON value check
// follows it; tStamped has a field with a marshaler of its own.
type tEmbeds struct {
	tMoney
	Note string `json:"note"`
}

type tStamped struct {
	ID   string      `json:"id"`
	At   json.Number `json:"amount"`
	Tags []tag       `json:"tags,omitempty"`
}

// tag marshals itself as text.
type tag string

func (t tag) MarshalText() ([]byte, error) { return []byte("#" + string(t)), nil }

type tWithMap struct {
	ID string         `json:"id"`
	M  map[string]int `json:"m"`
}

// typedValues are the Go values the comparison fills: pointers and plain values.
var typedTypes = []reflect.Type{
	reflect.TypeFor[tOrder](), reflect.TypeFor[*tOrder](), reflect.TypeFor[tTree](), reflect.TypeFor[[]tTree](),
	reflect.TypeFor[tMixed](), reflect.TypeFor[*tMixed](), reflect.TypeFor[tWithMap](), reflect.TypeFor[tMoney](),
	reflect.TypeFor[string](), reflect.TypeFor[int](), reflect.TypeFor[[]int32](), reflect.TypeFor[tHolder](),
	reflect.TypeFor[*tMoney](), reflect.TypeFor[tEmbeds](), reflect.TypeFor[tStamped](),
}

func typedValidators(t testing.TB) []*schema.Validator {
	set, err := schema.LoadFS(fstest.MapFS{"typed.json": {Data: []byte(typedDescriptor)}})
	if err != nil {
		t.Fatal(err)
	}
	var vs []*schema.Validator
	for _, m := range []string{"order", "loose", "others", "mixed", "tree", "anything", "nothing", "list"} {
		v, err := set.Validator("typed", "1.0.0", schema.PartRequest, m)
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	return vs
}

var (
	typedStrings = []string{"", "a", "abc", "abcd", "ABC-1234", "ABC-12", "ord_7Hq2kLp9Xw", "cus_A81x0q", "EUR", "XXX",
		"ada@example.com", "not an email", "2026-03-14T09:26:53Z", "2026-13-14T09:26:53Z", "new", "paid", "héllo", "\xff\xfe",
		"6ba7b810-9dad-11d1-80b4-00c04fd430c8", "Stainless steel", strings.Repeat("x", 40)}
	typedInts   = []int64{0, 1, -1, 2, 3, 5, 6, 100, 101, 127, -128, 300, -5, -6, math.MaxInt64, math.MinInt64}
	typedFloats = []float64{0, 0.1, 0.5, 1, 1.5, 2, -5, -5.5, 19.99, 300, 1000, 1000.5, 1e300, 1e308, math.MaxFloat64, math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1)}
)

// typedFill fills v with values from the pools, nesting at most depth deep.
func typedFill(r *rand.Rand, v reflect.Value, depth int) {
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(r.IntN(2) == 0)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(typedInts[r.IntN(len(typedInts))])
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint([]uint64{0, 1, 2, 200, math.MaxInt64, math.MaxInt64 + 1, math.MaxUint64}[r.IntN(7)])
	case reflect.Float64:
		v.SetFloat(typedFloats[r.IntN(len(typedFloats))])
	case reflect.String:
		v.SetString(typedStrings[r.IntN(len(typedStrings))])
	case reflect.Pointer:
		if r.IntN(4) > 0 {
			v.Set(reflect.New(v.Type().Elem()))
			typedFill(r, v.Elem(), depth)
		}
	case reflect.Slice:
		if depth <= 0 || r.IntN(6) == 0 {
			return // nil
		}
		n := r.IntN(5)
		if r.IntN(20) == 0 {
			n = 70 // deeper than the reader goes, for trees
		}
		v.Set(reflect.MakeSlice(v.Type(), n, n))
		for i := range n {
			typedFill(r, v.Index(i), depth-1)
		}
	case reflect.Map:
		if r.IntN(3) > 0 {
			v.Set(reflect.MakeMap(v.Type()))
			for range r.IntN(3) {
				k := reflect.New(v.Type().Key()).Elem()
				e := reflect.New(v.Type().Elem()).Elem()
				typedFill(r, k, depth-1)
				typedFill(r, e, depth-1)
				v.SetMapIndex(k, e)
			}
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() && r.IntN(5) > 0 {
				typedFill(r, v.Field(i), depth)
			}
		}
	}
}

// deepTree is a chain of trees depth containers deep (objects and kids arrays); depth is
// odd.
func deepTree(depth int) tTree {
	t := tTree{Name: "leaf"}
	for range (depth - 1) / 2 {
		t = tTree{Name: "n", Kids: []tTree{t}}
	}
	return t
}

// wire is a serializer with the value check and the bytes check that go with it.
type wire struct {
	ser      codec.Serializer
	accepts  func(*schema.Validator, any) bool
	validate func(*schema.Validator, []byte) error
}

var (
	msgpackWire = wire{codec.NewMsgpack(codec.DefaultLimits()), (*schema.Validator).AcceptsMsgpack, (*schema.Validator).ValidateMsgpack}
	jsonWire    = wire{codec.NewJSON(codec.DefaultLimits()), (*schema.Validator).AcceptsJSON, (*schema.Validator).ValidateJSON}
)

// randomMessage fills a value of typ from r and writes it with w. ok is false when the
// serializer refuses the value (encoding/json: NaN, infinities).
func randomMessage(t testing.TB, r *rand.Rand, w wire, typ reflect.Type, depth int) (x reflect.Value, data []byte, ok bool) {
	t.Helper()
	x = reflect.New(typ).Elem()
	typedFill(r, x, depth)
	data, err := w.ser.Marshal(nil, x.Interface())
	return x, data, err == nil
}

// checkTyped fails t when v accepts x by its value but refuses the bytes w's serializer
// writes for it (or the serializer refuses x).
func checkTyped(t testing.TB, w wire, v *schema.Validator, x any) (accepted, valid bool) {
	t.Helper()
	accepted = w.accepts(v, x)
	data, err := w.ser.Marshal(nil, x)
	if err != nil {
		if accepted {
			t.Fatalf("%s: the value check accepts %#v, which %s refuses: %v", v.Name, x, w.ser.Name(), err)
		}
		return false, false
	}
	valid = w.validate(v, data) == nil
	if accepted && !valid {
		t.Fatalf("%s: the value check accepts %#v (%s %q), the bytes fail: %v", v.Name, x, w.ser.Name(), data, w.validate(v, data))
	}
	return accepted, valid
}

// checkReceived fails t when data, read exactly into a new value of typ, is accepted by
// v's value check but refused from its bytes: what a receiver relies on. A serializer
// that cannot tell an exact read accepts nothing by value.
func checkReceived(t testing.TB, w wire, v *schema.Validator, typ reflect.Type, data []byte) bool {
	t.Helper()
	eu, ok := w.ser.(codec.ExactUnmarshaler)
	if !ok {
		return false
	}
	x := reflect.New(typ)
	exact, err := eu.UnmarshalExact(data, x.Interface())
	if err != nil || !exact || !w.accepts(v, x.Interface()) {
		return false
	}
	if err := w.validate(v, data); err != nil {
		t.Fatalf("%s: %q read exactly into %#v, accepted by value, refused from the bytes: %v", v.Name, data, x.Elem().Interface(), err)
	}
	return true
}

// flipBytes changes up to three bytes of a copy of data.
func flipBytes(r *rand.Rand, data []byte) []byte {
	data = bytes.Clone(data)
	for range r.IntN(4) {
		data[r.IntN(len(data))] = byte(r.Uint32())
	}
	return data
}

// TestAcceptsMsgpackAgreesWithBytes: a value check accepts only values whose bytes pass,
// over random values of structs, pointers, slices, recursive and mapped types, and the
// schemas they meet; and it accepts the valid ones it can follow on its own.
func TestAcceptsMsgpackAgreesWithBytes(t *testing.T) { agreesWithBytes(t, msgpackWire) }

// TestAcceptsJSONAgreesWithBytes: the same for the documents encoding/json writes.
func TestAcceptsJSONAgreesWithBytes(t *testing.T) { agreesWithBytes(t, jsonWire) }

func agreesWithBytes(t *testing.T, w wire) {
	vs := typedValidators(t)
	r := rand.New(rand.NewPCG(3, 4))
	accepted, valid, received := 0, 0, 0
	for range 2000 {
		typ := typedTypes[r.IntN(len(typedTypes))]
		x, data, ok := randomMessage(t, r, w, typ, 4)
		if !ok {
			continue
		}
		for _, v := range vs {
			a, ok := checkTyped(t, w, v, x.Interface())
			if a {
				accepted++
			}
			if ok {
				valid++
			}
			if checkReceived(t, w, v, typ, flipBytes(r, data)) {
				received++
			}
		}
	}
	t.Logf("random values: %d valid, %d of them accepted by the value check; %d received (mutated) accepted by value", valid, accepted, received)
	if _, exact := w.ser.(codec.ExactUnmarshaler); exact && received == 0 {
		t.Error("no message was accepted by its value on receipt")
	}
	if accepted < valid/4 {
		t.Errorf("the value check accepted %d of %d valid values", accepted, valid)
	}

	// Values the checks must settle alone, and the depth limit.
	order := func() *tOrder {
		five := 5
		return &tOrder{ID: "ord_7Hq2kLp9Xw", Customer: tCustomer{ID: "cus_A81x0q", Email: "ada@example.com"}, Currency: "EUR",
			PlacedAt: "2026-03-14T09:26:53Z", Status: "new", Lines: []tLine{{SKU: "ABC-1234", Quantity: 2, UnitPrice: tMoney{19.99, "EUR"}}},
			Extra: 3, Flag: true, U: math.MaxInt64 + 1, Ratio: 2, Small: 2, Ptr: &five}
	}
	vByName := map[string]*schema.Validator{}
	for _, v := range vs {
		vByName[v.Name] = v
	}
	for _, c := range []struct {
		method string
		x      any
		want   bool // accepted by the value check
	}{
		{"order", order(), true},
		{"order", *order(), true},
		{"order", func() *tOrder { o := order(); o.Ratio = 2.5; return o }(), false},
		{"order", func() *tOrder { o := order(); o.Lines = nil; return o }(), false},
		{"order", func() *tOrder { o := order(); o.Blob = []byte("x"); return o }(), false},
		{"order", func() *tOrder { o := order(); o.Status = "gone"; return o }(), false},
		{"tree", deepTree(63), true},
		{"tree", deepTree(65), false}, // the reader's limit is 64
		{"list", []tTree{deepTree(63)}, true},
		{"list", []tTree{deepTree(65)}, false},
		{"anything", []tTree{deepTree(63)}, true},
		{"anything", deepTree(65), false},
		{"nothing", "x", false},
		{"others", tMoney{Amount: 4, Currency: "EUR"}, true},
		{"others", &tMoney{Amount: 4, Currency: "EUR"}, true},
		{"others", (*tMoney)(nil), false}, // null is not an object
		{"others", tHolder{P: &tMoney{Amount: 4}}, true},
		{"others", tHolder{}, true},
		{"others", tWithMap{ID: "a"}, false}, // a map: left to the bytes
		{"mixed", tMixed{N: 300, F: -5, Xs: []float64{5}}, true},
		{"mixed", &tMixed{N: 300, F: -5, Xs: []float64{5, 0}}, false}, // the second item must be a string
		{"mixed", &tMixed{N: 300, F: -5.5, Xs: []float64{5}}, false},
	} {
		a, ok := checkTyped(t, w, vByName[c.method], c.x)
		if a != c.want {
			t.Errorf("%s %T: accepted %v (bytes valid %v), want %v", c.method, c.x, a, ok, c.want)
		}
		if _, tree := c.x.(tTree); tree && ok != a {
			t.Errorf("%s %T: the bytes say %v at the depth limit, the value check %v", c.method, c.x, ok, a)
		}
	}
}

// FuzzAcceptsMsgpack: on values built from any input, the value check accepts only what
// the bytes pass, at the sender (the value) and at the receiver (a changed message read
// exactly).
func FuzzAcceptsMsgpack(f *testing.F) { fuzzAccepts(f, msgpackWire) }

// FuzzAcceptsJSON: the same for the documents encoding/json writes.
func FuzzAcceptsJSON(f *testing.F) { fuzzAccepts(f, jsonWire) }

func fuzzAccepts(f *testing.F, w wire) {
	vs := typedValidators(f)
	f.Add([]byte("0123456789abcdef"))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, seed []byte) {
		var s [16]byte
		copy(s[:], seed)
		r := rand.New(rand.NewPCG(binary.LittleEndian.Uint64(s[:8]), binary.LittleEndian.Uint64(s[8:])))
		typ := typedTypes[r.IntN(len(typedTypes))]
		x, data, ok := randomMessage(t, r, w, typ, 5)
		if !ok {
			return
		}
		for _, v := range vs {
			checkTyped(t, w, v, x.Interface())
			checkReceived(t, w, v, typ, flipBytes(r, data))
		}
	})
}

// BenchmarkAcceptsMsgpack: checking an order of 1 and 31 lines by its value, against
// checking the bytes the serializer writes for it.
func BenchmarkAcceptsMsgpack(b *testing.B) { benchAccepts(b, msgpackWire) }

// BenchmarkAcceptsJSON: the same for the documents encoding/json writes.
func BenchmarkAcceptsJSON(b *testing.B) { benchAccepts(b, jsonWire) }

func benchAccepts(b *testing.B, w wire) {
	v := typedValidators(b)[0]
	for _, n := range []int{1, 31} {
		o := &tOrder{ID: "ord_7Hq2kLp9Xw", Customer: tCustomer{ID: "cus_A81x0q", Email: "ada@example.com"}, Currency: "EUR",
			PlacedAt: "2026-03-14T09:26:53Z", Status: "new", Note: "at the door"}
		for i := range n {
			o.Lines = append(o.Lines, tLine{SKU: "ABC-" + strconv.Itoa(1000+i), Title: "widget", Quantity: 1 + i%9, UnitPrice: tMoney{19.99, "EUR"}})
		}
		o.Lines = o.Lines[:min(n, 4)] // the schema's maxItems
		data, err := w.ser.Marshal(nil, o)
		if err != nil || !w.accepts(v, o) {
			b.Fatal("the order is not accepted by its value", err)
		}
		name := strconv.Itoa(len(o.Lines)) + "lines"
		benchOp(b, name+"/value", len(data), func() error {
			if !w.accepts(v, o) {
				return errors.New("refused")
			}
			return nil
		})
		benchOp(b, name+"/bytes", len(data), func() error { return w.validate(v, data) })
	}
}

// FuzzReceivedExactly: any message, read exactly into any of the types, is accepted by
// its value only when its bytes pass.
func FuzzReceivedExactly(f *testing.F) { fuzzReceived(f, msgpackWire) }

// FuzzReceivedExactlyJSON: the same for JSON documents read by the json serializer's plans.
func FuzzReceivedExactlyJSON(f *testing.F) { fuzzReceived(f, jsonWire) }

func fuzzReceived(f *testing.F, w wire) {
	vs := typedValidators(f)
	r := rand.New(rand.NewPCG(5, 6))
	for _, typ := range typedTypes {
		if _, data, ok := randomMessage(f, r, w, typ, 3); ok {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, typ := range typedTypes {
			for _, v := range vs {
				checkReceived(t, w, v, typ, data)
			}
		}
	})
}

// TestAcceptsJSONLeavesWhatEncodingJSONChanges: a value check does not vouch for what
// encoding/json writes otherwise than the value reads: invalid UTF-8 (replaced), promoted
// fields, marshalers of a type's own; the bytes are checked instead.
func TestAcceptsJSONLeavesWhatEncodingJSONChanges(t *testing.T) {
	vByName := map[string]*schema.Validator{}
	for _, v := range typedValidators(t) {
		vByName[v.Name] = v
	}
	order := &tOrder{ID: "ord_7Hq2kLp9Xw", Customer: tCustomer{ID: "cus_A81x0q", Email: "ada@example.com"}, Currency: "EUR",
		PlacedAt: "2026-03-14T09:26:53Z", Status: "new", Lines: []tLine{{SKU: "ABC-1234", Quantity: 2, UnitPrice: tMoney{19.99, "EUR"}}}}
	badNote := *order
	badNote.Note = "caf\xe9"
	for _, c := range []struct {
		method string
		x      any
		want   bool
	}{
		{"order", order, true},
		{"order", &badNote, false},
		{"others", tMoney{Amount: 4, Currency: "EUR"}, true},
		{"others", tEmbeds{tMoney: tMoney{Amount: 4, Currency: "EUR"}}, false},
		{"others", tStamped{ID: "x", At: "1"}, false},
	} {
		a, valid := checkTyped(t, jsonWire, vByName[c.method], c.x)
		if a != c.want || !valid {
			t.Errorf("%s %T: accepted %v (bytes valid %v), want %v", c.method, c.x, a, valid, c.want)
		}
	}
}
