package schema_test

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/jesus-go/jesus/codec"
	"github.com/jesus-go/jesus/schema"
)

// The differential tests of ValidateMsgpack and ValidateJSON: for every message, valid
// exactly when codec decodes it and Validate accepts the value; when invalid, the error of
// Validate or one wrapping the decoder's.

var (
	mpSer   = codec.NewMsgpack(codec.DefaultLimits())
	jsonSer = codec.NewJSON(codec.DefaultLimits())
)

func checkEncoded(t testing.TB, v *schema.Validator, ser codec.Serializer, data []byte) {
	t.Helper()
	var got error
	if ser.Name() == codec.SerializerMsgpack {
		got = v.ValidateMsgpack(data)
	} else {
		got = v.ValidateJSON(data)
	}
	x, derr := ser.UnmarshalValue(data)
	var want error
	if derr == nil {
		want = v.Validate(x)
	}
	if (got == nil) != (derr == nil && want == nil) {
		t.Fatalf("%s@%s %s %s: %s %q: ValidateEncoded = %v, decode = %v, Validate = %v", v.Service, v.Version, v.Name, v.Part, ser.Name(), data, got, derr, want)
	}
	switch {
	case derr != nil:
		for _, sentinel := range []error{codec.ErrCorrupt, codec.ErrTooLarge, codec.ErrTooDeep} {
			if errors.Is(derr, sentinel) && !errors.Is(got, sentinel) {
				t.Fatalf("%s %q: error %v does not wrap %v", ser.Name(), data, got, sentinel)
			}
		}
	case want != nil:
		gve, ok1 := got.(*schema.ValidationError)
		wve, ok2 := want.(*schema.ValidationError)
		if !ok1 || !ok2 || len(gve.Failures) != len(wve.Failures) || gve.More != wve.More {
			t.Fatalf("%s %q: error %v, want %v", ser.Name(), data, got, want)
		}
	}
}

var (
	corpusOnce sync.Once
	corpusVals []*schema.Validator
)

// validators returns every part of schemas/ and of the edge schemas, loaded once.
func validators(t testing.TB) []*schema.Validator {
	t.Helper()
	corpusOnce.Do(func() { corpusVals = allValidators(t, loadEdge(t)) })
	return corpusVals
}

func orderValidator(t testing.TB) *schema.Validator {
	t.Helper()
	for _, v := range validators(t) {
		if v.Service == "orders" && v.Name == "create" && v.Part == schema.PartRequest {
			return v
		}
	}
	t.Fatal("no orders.create request")
	return nil
}

func mustMarshal(t testing.TB, ser codec.Serializer, x any) []byte {
	t.Helper()
	b, err := ser.Marshal(nil, x)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mpEncode writes x as msgpack, choosing among the encodings msgpack allows for it (wide
// headers, float32, integer keys), so that every form reaches the reader.
func mpEncode(r *rand.Rand, dst []byte, x any) []byte {
	be := binary.BigEndian
	switch t := x.(type) {
	case nil:
		return append(dst, 0xc0)
	case bool:
		if t {
			return append(dst, 0xc3)
		}
		return append(dst, 0xc2)
	case string:
		dst = mpHeader(r, dst, 0xa0, 31, 0xd9, 0xda, 0xdb, len(t))
		return append(dst, t...)
	case int64:
		return mpInt(r, dst, t)
	case int:
		return mpInt(r, dst, int64(t))
	case uint64:
		if t <= math.MaxInt64 {
			return mpInt(r, dst, int64(t))
		}
		return be.AppendUint64(append(dst, 0xcf), t)
	case float64:
		if f := float32(t); float64(f) == t && r.IntN(2) == 0 {
			return be.AppendUint32(append(dst, 0xca), math.Float32bits(f))
		}
		return be.AppendUint64(append(dst, 0xcb), math.Float64bits(t))
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return mpInt(r, dst, i)
		}
		f, _ := t.Float64()
		if math.IsInf(f, 0) {
			return append(dst, 0xc0)
		}
		return be.AppendUint64(append(dst, 0xcb), math.Float64bits(f))
	case []any:
		dst = mpHeader(r, dst, 0x90, 15, 0, 0xdc, 0xdd, len(t))
		for _, e := range t {
			dst = mpEncode(r, dst, e)
		}
		return dst
	case map[string]any:
		dst = mpHeader(r, dst, 0x80, 15, 0, 0xde, 0xdf, len(t))
		for _, k := range slices.Sorted(maps.Keys(t)) {
			if i, err := strconv.ParseInt(k, 10, 64); err == nil && strconv.FormatInt(i, 10) == k && r.IntN(2) == 0 {
				dst = mpInt(r, dst, i)
			} else {
				dst = mpEncode(r, dst, k)
			}
			dst = mpEncode(r, dst, t[k])
		}
		return dst
	}
	panic("mpEncode: " + show(x))
}

// mpHeader appends the header of a str, array or map of n bytes or items: the fix form
// (fix|n, up to max), the 8-bit form c8 (none when 0), or the 16- or 32-bit form, each
// taken at random where it can hold n.
func mpHeader(r *rand.Rand, dst []byte, fix, max uint8, c8, c16, c32 byte, n int) []byte {
	be := binary.BigEndian
	switch {
	case n <= int(max) && r.IntN(3) != 0:
		return append(dst, fix|byte(n))
	case n <= 0xff && c8 != 0 && r.IntN(2) == 0:
		return append(dst, c8, byte(n))
	case n <= 0xffff && r.IntN(2) == 0:
		return be.AppendUint16(append(dst, c16), uint16(n))
	}
	return be.AppendUint32(append(dst, c32), uint32(n))
}

// mpInt appends i in one of the integer forms that can hold it, taken at random.
func mpInt(r *rand.Rand, dst []byte, i int64) []byte {
	be := binary.BigEndian
	switch {
	case i >= 0 && i <= 127 && r.IntN(2) == 0:
		return append(dst, byte(i))
	case i >= -32 && i < 0 && r.IntN(2) == 0:
		return append(dst, byte(int8(i)))
	case i >= math.MinInt8 && i <= math.MaxInt8 && r.IntN(2) == 0:
		return append(dst, 0xd0, byte(int8(i)))
	case i >= 0 && i <= math.MaxUint16 && r.IntN(2) == 0:
		return be.AppendUint16(append(dst, 0xcd), uint16(i))
	case i >= math.MinInt32 && i <= math.MaxInt32 && r.IntN(2) == 0:
		return be.AppendUint32(append(dst, 0xd2), uint32(int32(i)))
	case i >= 0 && r.IntN(2) == 0:
		return be.AppendUint64(append(dst, 0xcf), uint64(i))
	}
	return be.AppendUint64(append(dst, 0xd3), uint64(i))
}

// hostileMsgpack are messages a decoder must refuse or read with care.
func hostileMsgpack() [][]byte {
	ts := func(p ...byte) []byte { return append([]byte{0xd6, 0xff}, p...) }
	return [][]byte{
		{}, {0xc1}, {0x81}, {0x81, 0xa1, 'a'}, {0x91}, {0xa5, 'a'}, {0xdb, 0xff, 0xff, 0xff, 0xff},
		{0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 'a', 0xc0}, {0xdd, 0x7f, 0xff, 0xff, 0xff, 0xc0},
		{0xc0, 0xc0}, {0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0}, {0xca, 0x7f, 0x80, 0, 0}, {0xca, 0xff, 0x80, 0, 0},
		{0xcb, 0, 0, 0, 0, 0, 0, 0}, {0xd4, 0x01, 0x00}, ts(0, 0, 0, 1), ts(0xff, 0xff, 0xff, 0xff),
		{0xd7, 0xff, 0xff, 0xff, 0xff, 0xfc, 0, 0, 0, 1}, {0xd7, 0xff, 0, 0, 0, 4, 0, 0, 0, 1},
		{0xc7, 12, 0xff, 0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		{0xc7, 12, 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}, {0xc7, 3, 0xff, 1, 2, 3},
		{0xc4, 3, 1, 2, 3}, {0xc4, 4, 1, 2, 3}, {0x81, 0xc4, 1, 'a', 0xc0}, {0x81, 0xc0, 0xc0}, {0x81, 0x01, 0xc0},
		{0x81, 0xd0, 0xff, 0xc0}, {0x81, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc0},
		{0x82, 0xa1, 'a', 0x01, 0xa1, 'a', 0x02}, {0x82, 0xa1, '1', 0x01, 0x01, 0x02}, {0x82, 0xd9, 1, 'a', 0xc0, 0xa1, 'a', 0xc3},
		{0x81, 0x81, 0xc0, 0xc0, 0xc0}, {0xa2, 0xff, 0xfe}, {0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0},
		{0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0}, {0xcc}, {0xcd, 1}, {0xd2, 1, 2, 3}, {0xdc, 0}, {0xde, 0},
		{0x81, 0xa2, 'i', 'd', 0xc4, 3, 'a', 'b', 'c'},
		deepMsgpack(63), deepMsgpack(64), deepMsgpack(65), deepMsgpack(200),
	}
}

func deepMsgpack(n int) []byte {
	b := make([]byte, 0, n+1)
	for range n {
		b = append(b, 0x91)
	}
	return append(b, 0xc0)
}

func deepJSON(n int) []byte {
	b := make([]byte, 0, 2*n+1)
	for range n {
		b = append(b, '[')
	}
	b = append(b, '1')
	for range n {
		b = append(b, ']')
	}
	return b
}

func hostileJSON() []string {
	return []string{
		``, ` `, `{`, `}`, `[1,]`, `{"a":1,}`, `{"a" 1}`, `{"a":1 "b":2}`, `01`, `-`, `1.`, `.5`, `1e`, `1e+`, `+1`,
		`1e999`, `1e0999`, `1e1000`, `-0`, `1E+2`, `tru`, `nul`, `true false`, `"a" x`, "\"a\" \n\t", `"\x"`, `"\u12"`,
		`"\ud800"`, `"\ud800\udc00"`, `"\udc00\ud800"`, `"\ud800\u0041"`, "\"\xff\xfe\"", "\"a\x01\"", `"\'"`, `"\/"`,
		"\xef\xbb\xbf{}", `{"a":1,"a":"x"}`, `{"id":1,"id":"o-1"}`, `{"\u0061":1}`, `{"a\u0000":1}`, `NaN`, `Infinity`,
		`[1, 2 ,3 ]`, "{\r\n}", `"` + string(make([]byte, 300)) + `"`, `123456789012345678901234567890`,
		`0.1000000000000000055511151231257827`, string(deepJSON(63)), string(deepJSON(64)), string(deepJSON(65)),
		`1` + string(make([]byte, 0)) + `00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000`,
		`{"customer":{"id":"c-42","email":"ada@example.com"},"currency":"EUR","lines":[{"sku":"ABC-1234","quantity":1,"unitPrice":{"amount":1e1,"currency":"EUR"}}],"status":"new","id":"o\u002d1"}`,
	}
}

// seedMessages returns valid orders, mutated and generated values and hostile bytes,
// msgpack- and JSON-encoded.
func seedMessages(t testing.TB, r *rand.Rand, n int) (mp, js [][]byte) {
	t.Helper()
	samples := []any{decode(t, smallOrder), decode(t, largeOrder(60)), floaty(decode(t, largeOrder(3)))}
	var values []any
	values = append(values, samples...)
	for range n {
		values = append(values, genValue(r, 0), mutate(r, samples[r.IntN(len(samples))]))
	}
	for _, x := range values {
		j := mustMarshal(t, jsonSer, x)
		js = append(js, j)
		m, err := mpSer.Marshal(nil, x)
		if err != nil {
			continue // e.g. 1e400: no msgpack number holds it
		}
		mp = append(mp, m, mpEncode(r, nil, x))
		// Truncated, and with one byte changed.
		if len(m) > 1 {
			mp = append(mp, m[:r.IntN(len(m))], flip(r, m))
		}
		if len(j) > 1 {
			js = append(js, j[:r.IntN(len(j))], flip(r, j))
		}
	}
	mp = append(mp, hostileMsgpack()...)
	for _, s := range hostileJSON() {
		js = append(js, []byte(s))
	}
	for range n / 4 {
		b := make([]byte, r.IntN(24))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		mp = append(mp, b)
		js = append(js, b)
	}
	return mp, js
}

func flip(r *rand.Rand, b []byte) []byte {
	c := append([]byte(nil), b...)
	c[r.IntN(len(c))] = byte(r.Uint32())
	return c
}

func TestValidateEncodedDifferential(t *testing.T) {
	vals := validators(t)
	n := 60
	if testing.Short() {
		n = 15
	}
	mp, js := seedMessages(t, rand.New(rand.NewPCG(5, 6)), n)
	for _, v := range vals {
		for _, b := range mp {
			checkEncoded(t, v, mpSer, b)
		}
		for _, b := range js {
			checkEncoded(t, v, jsonSer, b)
		}
	}
}

// The orders.create request, with each field removed, changed or of the wrong type, in
// both encodings.
func TestValidateEncodedOrderMutations(t *testing.T) {
	v := orderValidator(t)
	r := rand.New(rand.NewPCG(7, 8))
	base := decode(t, largeOrder(2)).(map[string]any)
	wrong := []any{nil, true, "x", json.Number("-1"), json.Number("1.5"), json.Number("1e400"), []any{}, map[string]any{}, 1.5, int64(-3), uint64(math.MaxUint64)}
	var variants []any
	var walk func(x any, set func(any))
	walk = func(x any, set func(any)) {
		for _, w := range wrong {
			set(w)
			variants = append(variants, clone(base))
		}
		set(x)
		switch tx := x.(type) {
		case map[string]any:
			for k, e := range tx {
				delete(tx, k)
				variants = append(variants, clone(base))
				tx[k] = e
				walk(e, func(y any) { tx[k] = y })
			}
		case []any:
			for i, e := range tx {
				walk(e, func(y any) { tx[i] = y })
			}
		}
	}
	walk(base, func(any) {})
	for _, x := range variants {
		checkEncoded(t, v, jsonSer, mustMarshal(t, jsonSer, x))
		if m, err := mpSer.Marshal(nil, x); err == nil {
			checkEncoded(t, v, mpSer, m)
			checkEncoded(t, v, mpSer, mpEncode(r, nil, x))
		}
	}
	if len(variants) < 50 {
		t.Fatalf("only %d variants", len(variants))
	}
}

func TestValidateEncodedErrors(t *testing.T) {
	v := orderValidator(t)
	err := v.ValidateJSON([]byte(`{"id":`))
	if err == nil || !errors.Is(err, codec.ErrCorrupt) {
		t.Fatalf("truncated JSON: %v", err)
	}
	err = v.ValidateMsgpack(deepMsgpack(100))
	if err == nil || !errors.Is(err, codec.ErrTooDeep) {
		t.Fatalf("deep msgpack: %v", err)
	}
	var ve *schema.ValidationError
	if err := v.ValidateJSON([]byte(`{"id":"o-1"}`)); !errors.As(err, &ve) {
		t.Fatalf("invalid order: %v", err)
	}
}

func TestValidateEncodedAllocs(t *testing.T) {
	if testing.Short() || raceOn {
		t.Skip("allocation counts: not in short mode nor under the race detector")
	}
	v := orderValidator(t)
	for _, c := range []struct {
		name string
		doc  string
	}{{"small", smallOrder}, {"large60", largeOrder(60)}} {
		x := decode(t, c.doc)
		for _, ser := range []codec.Serializer{mpSer, jsonSer} {
			b := mustMarshal(t, ser, x)
			validate := v.ValidateJSON
			if ser == mpSer {
				validate = v.ValidateMsgpack
			}
			if err := validate(b); err != nil {
				t.Fatal(err)
			}
			// The email format takes a string value: that is the one allocation a valid
			// order costs.
			if n := testing.AllocsPerRun(100, func() { _ = validate(b) }); n > 4 {
				t.Errorf("%s %s: %v allocations per valid message, want at most 4", c.name, ser.Name(), n)
			}
		}
	}
}

func fuzzValidators(f *testing.F) []*schema.Validator {
	vals := validators(f)
	// The parts of orders and the edge schemas: every keyword, kept to a number that
	// leaves the fuzzer fast.
	var out []*schema.Validator
	for _, v := range vals {
		if v.Service == "orders" || v.Service == "edge" {
			out = append(out, v)
		}
	}
	return out
}

func FuzzValidateMsgpack(f *testing.F) {
	mp, _ := seedMessages(f, rand.New(rand.NewPCG(9, 10)), 6)
	fuzzEncoded(f, mpSer, mp)
}

func FuzzValidateJSON(f *testing.F) {
	_, js := seedMessages(f, rand.New(rand.NewPCG(11, 12)), 6)
	fuzzEncoded(f, jsonSer, js)
}

// fuzzEncoded checks every fuzz validator on messages of ser, seeded with seeds.
func fuzzEncoded(f *testing.F, ser codec.Serializer, seeds [][]byte) {
	vals := fuzzValidators(f)
	for _, b := range seeds {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<14 {
			return
		}
		for _, v := range vals {
			checkEncoded(t, v, ser, data)
		}
	})
}

// Validators are shared by every connection of a server: the encoded path, with its pooled
// tapes, is safe for concurrent use.
func TestValidateEncodedConcurrent(t *testing.T) {
	v := orderValidator(t)
	x := decode(t, largeOrder(20))
	good := [][]byte{mustMarshal(t, mpSer, x), mustMarshal(t, jsonSer, x)}
	bad := [][]byte{good[0][:len(good[0])/2], []byte(`{"id":"o-1","lines":[]}`)}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				validate := v.ValidateMsgpack
				if (g+i)%2 == 1 {
					validate = v.ValidateJSON
				}
				if err := validate(good[(g+i)%2]); err != nil {
					errs <- err
					return
				}
				if validate(bad[(g+i)%2]) == nil {
					errs <- errors.New("invalid message accepted")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
