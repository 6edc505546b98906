package codec_test

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jesus-go/jesus/codec"
	"github.com/vmihailenco/msgpack/v5"
)

// checkJSONReady fails unless v is made only of the types UnmarshalValue promises.
func checkJSONReady(t testing.TB, v any) {
	t.Helper()
	if err := jsonReady(v, 0); err != nil {
		t.Fatal(err)
	}
}

func jsonReady(v any, depth int) error {
	switch v := v.(type) {
	case nil, bool, string, json.Number, int64, uint64:
		return nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("float %v is not JSON", v)
		}
		return nil
	case []any:
		for _, e := range v {
			if err := jsonReady(e, depth+1); err != nil {
				return err
			}
		}
		return nil
	case map[string]any:
		for _, e := range v {
			if err := jsonReady(e, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("value of type %T is not JSON-ready", v)
}

func msgpackValue(t *testing.T, b []byte) (any, error) {
	t.Helper()
	p, err := codec.NewRegistry(codec.Limits{}).Pipeline("msgpack")
	if err != nil {
		t.Fatal(err)
	}
	v, err := p.UnmarshalValue(b)
	if err == nil {
		checkJSONReady(t, v)
		// Unmarshal into *any must agree.
		var a any
		if err := p.Unmarshal(b, &a); err != nil {
			t.Fatalf("UnmarshalValue accepted what Unmarshal(*any) refused: %v", err)
		}
		if !reflect.DeepEqual(a, v) {
			t.Fatalf("Unmarshal(*any) = %#v, UnmarshalValue = %#v", a, v)
		}
	}
	return v, err
}

func be(n int, v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b[8-n:]
}

func cat(parts ...any) []byte {
	var out []byte
	for _, p := range parts {
		switch p := p.(type) {
		case byte:
			out = append(out, p)
		case int:
			out = append(out, byte(p))
		case []byte:
			out = append(out, p...)
		case string:
			out = append(out, p...)
		}
	}
	return out
}

func jsonTime(t *testing.T, tm time.Time) string {
	t.Helper()
	b, err := json.Marshal(tm.UTC())
	if err != nil {
		t.Fatal(err)
	}
	return strings.Trim(string(b), `"`)
}

func TestMsgpackValueModel(t *testing.T) {
	ts := time.Date(2026, 11, 22, 9, 30, 1, 123456789, time.UTC)
	ts64 := uint64(ts.Nanosecond())<<34 | uint64(ts.Unix())
	cases := []struct {
		name string
		in   []byte
		want any
	}{
		{"nil", cat(0xc0), nil},
		{"true", cat(0xc3), true},
		{"false", cat(0xc2), false},
		{"posfix", cat(0x7f), int64(127)},
		{"negfix", cat(0xff), int64(-1)},
		{"uint8", cat(0xcc, 0xff), int64(255)},
		{"uint16", cat(0xcd, be(2, 65535)), int64(65535)},
		{"uint32", cat(0xce, be(4, math.MaxUint32)), int64(math.MaxUint32)},
		{"uint64 small", cat(0xcf, be(8, 7)), int64(7)},
		{"uint64 max", cat(0xcf, be(8, math.MaxUint64)), uint64(math.MaxUint64)},
		{"int8", cat(0xd0, 0x80), int64(-128)},
		{"int16", cat(0xd1, be(2, 0x8000)), int64(math.MinInt16)},
		{"int32", cat(0xd2, be(4, 0x80000000)), int64(math.MinInt32)},
		{"int64", cat(0xd3, be(8, 1<<63)), int64(math.MinInt64)},
		{"float32", cat(0xca, be(4, uint64(math.Float32bits(1.5)))), 1.5},
		{"float64", cat(0xcb, be(8, math.Float64bits(-2.25))), -2.25},
		{"fixstr", cat(0xa3, "abc"), "abc"},
		{"str8", cat(0xd9, 3, "abc"), "abc"},
		{"str16", cat(0xda, be(2, 3), "abc"), "abc"},
		{"str32", cat(0xdb, be(4, 3), "abc"), "abc"},
		{"bin8", cat(0xc4, 3, "abc"), "YWJj"},
		{"bin16", cat(0xc5, be(2, 2), []byte{0xff, 0x00}), "/wA="},
		{"bin32 empty", cat(0xc6, be(4, 0)), ""},
		{"timestamp32", cat(0xd6, 0xff, be(4, uint64(ts.Unix()))), jsonTime(t, ts.Truncate(time.Second))},
		{"timestamp64", cat(0xd7, 0xff, be(8, ts64)), jsonTime(t, ts)},
		{"timestamp96", cat(0xc7, 12, 0xff, be(4, uint64(ts.Nanosecond())), be(8, uint64(ts.Unix()))), jsonTime(t, ts)},
		{"timestamp96 before 1970", cat(0xc7, 12, 0xff, be(4, 5), be(8, uint64(1<<64-86400))), jsonTime(t, time.Unix(-86400, 5))},
		{"array", cat(0x93, 0x01, 0xa1, "x", 0xc0), []any{int64(1), "x", nil}},
		{"array16", cat(0xdc, be(2, 1), 0xc3), []any{true}},
		{"map", cat(0x82, 0xa1, "a", 0x01, 0xa1, "b", 0x90), map[string]any{"a": int64(1), "b": []any{}}},
		{"map int keys", cat(0x83, 0x01, 0xa1, "x", 0xff, 0xa1, "y", 0xcf, be(8, math.MaxUint64), 0xc0),
			map[string]any{"1": "x", "-1": "y", "18446744073709551615": nil}},
		{"map32", cat(0xdf, be(4, 1), 0xa0, 0xc2), map[string]any{"": false}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := msgpackValue(t, c.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %#v (%T), want %#v (%T)", got, got, c.want, c.want)
			}
		})
	}
}

// Values the library writes decode to what encoding/json would have produced.
func TestMsgpackValueMatchesJSON(t *testing.T) {
	// msgpack timestamps carry no zone: the value is in UTC.
	tm := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	in := map[string]any{
		"time":  tm,
		"bytes": []byte{0, 1, 2, 250},
		"ints":  map[int]string{-3: "a", 70000: "b"},
		"i16":   int16(-300),
		"u16":   uint16(60000),
		"f32":   float32(0.5),
	}
	b, err := msgpack.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := msgpackValue(t, b)
	if err != nil {
		t.Fatal(err)
	}
	j, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	if err := json.Unmarshal(j, &want); err != nil {
		t.Fatal(err)
	}
	// Compare through JSON text: numbers differ in Go type only.
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal(want)
	if string(gj) != string(wj) {
		t.Fatalf("msgpack value %s\nencoding/json   %s", gj, wj)
	}
}

func TestMsgpackValueErrors(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		is   error
		says string
	}{
		{"empty", nil, codec.ErrCorrupt, "empty"},
		{"never used", cat(0xc1), codec.ErrCorrupt, "0xc1"},
		{"NaN", cat(0xcb, be(8, math.Float64bits(math.NaN()))), codec.ErrCorrupt, "NaN"},
		{"+Inf float32", cat(0xca, be(4, uint64(math.Float32bits(float32(math.Inf(1)))))), codec.ErrCorrupt, "+Inf"},
		{"-Inf", cat(0xcb, be(8, math.Float64bits(math.Inf(-1)))), codec.ErrCorrupt, "-Inf"},
		{"ext type", cat(0xd4, 5, 0), codec.ErrCorrupt, "extension type 5"},
		{"ext8 type", cat(0xc7, 1, 0x80, 0), codec.ErrCorrupt, "extension type -128"},
		{"timestamp size", cat(0xc7, 3, 0xff, 1, 2, 3), codec.ErrCorrupt, "3 bytes"},
		{"timestamp nsec", cat(0xd7, 0xff, be(8, uint64(1_000_000_000)<<34)), codec.ErrCorrupt, "nanoseconds"},
		{"timestamp year", cat(0xc7, 12, 0xff, be(4, 0), be(8, 1<<62)), codec.ErrCorrupt, "year"},
		{"float key", cat(0x81, 0xcb, be(8, 0), 0xc0), codec.ErrCorrupt, "map key of type float64"},
		{"bool key", cat(0x81, 0xc3, 0xc0), codec.ErrCorrupt, "map key of type bool"},
		{"nil key", cat(0x81, 0xc0, 0xc0), codec.ErrCorrupt, "map key of type nil"},
		{"array key", cat(0x81, 0x90, 0xc0), codec.ErrCorrupt, "map key of type array"},
		{"bin key", cat(0x81, 0xc4, 0, 0xc0), codec.ErrCorrupt, "map key of type bin"},
		{"trailing", cat(0xc0, 0xc0), codec.ErrCorrupt, "trailing"},
		{"truncated array", cat(0x92, 0x01), codec.ErrTooLarge, "declares 2"},
		{"truncated int", cat(0xd3, 1, 2), codec.ErrCorrupt, "truncated"},
		{"truncated str", cat(0xa5, "ab"), codec.ErrTooLarge, "declares 5"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := msgpackValue(t, c.in)
			if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.says) || !strings.HasPrefix(err.Error(), "codec: ") {
				t.Fatalf("got %v, want %v saying %q", err, c.is, c.says)
			}
		})
	}
}

func TestJSONValueModel(t *testing.T) {
	p, _ := codec.NewRegistry(codec.Limits{}).Pipeline("json")
	v, err := p.UnmarshalValue([]byte(` {"a":[1,2.5,"x",null,true,{}],"big":123456789012345678901234567890} `))
	if err != nil {
		t.Fatal(err)
	}
	checkJSONReady(t, v)
	want := map[string]any{
		"a":   []any{json.Number("1"), json.Number("2.5"), "x", nil, true, map[string]any{}},
		"big": json.Number("123456789012345678901234567890"),
	}
	if !reflect.DeepEqual(v, want) {
		t.Fatalf("got %#v", v)
	}
	for _, bad := range []string{``, `{`, `{"a":1} x`, `[1,]`, `nul`, `"\x"`} {
		if _, err := p.UnmarshalValue([]byte(bad)); !errors.Is(err, codec.ErrCorrupt) {
			t.Errorf("%q: want ErrCorrupt, got %v", bad, err)
		}
	}
	// Two values are not one message, and a type mismatch is an error, but not corrupt
	// input: through the decoder (order holds interfaces) and in place (item has none).
	for _, c := range []struct {
		target             any
		trailing, mismatch string
	}{
		{new(order), `{"id":"a"} {"id":"b"}`, `{"id":5}`},
		{new(item), `{"sku":"a"} {"sku":"b"}`, `{"sku":5}`},
	} {
		if err := p.Unmarshal([]byte(c.trailing), c.target); !errors.Is(err, codec.ErrCorrupt) {
			t.Errorf("%T: trailing value: want ErrCorrupt, got %v", c.target, err)
		}
		err := p.Unmarshal([]byte(c.mismatch), c.target)
		if err == nil || errors.Is(err, codec.ErrCorrupt) || !strings.HasPrefix(err.Error(), "codec: json: ") {
			t.Errorf("%T: type mismatch: got %v", c.target, err)
		}
	}
	var it item
	if err := p.Unmarshal([]byte(`{"sku":"a","qty":2} `), &it); err != nil || it.SKU != "a" || it.Qty != 2 {
		t.Errorf("got %+v, %v", it, err)
	}
	if err := p.Unmarshal([]byte(`{}`), it); err == nil || errors.Is(err, codec.ErrCorrupt) {
		t.Errorf("non-pointer target: got %v", err)
	}
}

// One struct, tagged for JSON only, gives the same document through both serializers.
func TestMsgpackUsesJSONTagsAndMaps(t *testing.T) {
	r := codec.NewRegistry(codec.Limits{})
	o := sampleOrder(1)
	o.Skip = "never on the wire"
	var docs [2]string
	for i, name := range []string{"json", "msgpack"} {
		p, _ := r.Pipeline(name)
		b, err := p.Marshal(nil, o)
		if err != nil {
			t.Fatal(err)
		}
		v, err := p.UnmarshalValue(b)
		if err != nil {
			t.Fatal(err)
		}
		j, _ := json.Marshal(v)
		docs[i] = string(j)
	}
	if docs[0] != docs[1] {
		t.Fatalf("json:    %s\nmsgpack: %s", docs[0], docs[1])
	}
	if strings.Contains(docs[1], "never") || strings.Contains(docs[1], "Skip") || !strings.Contains(docs[1], `"sku"`) {
		t.Fatalf("json tags not used: %s", docs[1])
	}
	t.Log(docs[1])
}

// A value decoded from JSON re-encodes as msgpack with numbers as numbers.
func TestJSONValueToMsgpack(t *testing.T) {
	r := codec.NewRegistry(codec.Limits{})
	jp, _ := r.Pipeline("json")
	mp, _ := r.Pipeline("msgpack+zstd")
	v, err := jp.UnmarshalValue([]byte(`{"i":-7,"u":18446744073709551615,"f":2.5,"e":1e3,"s":"x","a":[1,{"k":null}],` +
		`"long":"` + strings.Repeat("y", 300) + `","many":[` + strings.Repeat("0,", 20) + `0]}`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := mp.Marshal(nil, v)
	if err != nil {
		t.Fatal(err)
	}
	got, err := mp.UnmarshalValue(b)
	if err != nil {
		t.Fatal(err)
	}
	m := got.(map[string]any)
	for k, want := range map[string]any{"i": int64(-7), "u": uint64(math.MaxUint64), "f": 2.5, "e": 1000.0, "s": "x"} {
		if m[k] != want {
			t.Errorf("%s: got %#v (%T), want %#v", k, m[k], m[k], want)
		}
	}
	if !reflect.DeepEqual(m["a"], []any{int64(1), map[string]any{"k": nil}}) || len(m["long"].(string)) != 300 || len(m["many"].([]any)) != 21 {
		t.Errorf("got %#v", m)
	}
	// The typed path agrees.
	var typed struct {
		I int64   `json:"i"`
		F float64 `json:"f"`
	}
	if err := mp.Unmarshal(b, &typed); err != nil || typed.I != -7 || typed.F != 2.5 {
		t.Errorf("typed: %+v %v", typed, err)
	}

	if _, err := mp.Marshal(nil, json.Number("1e400")); err == nil || !strings.Contains(err.Error(), "1e400") {
		t.Errorf("huge number: %v", err)
	}
	cyc := []any{nil}
	cyc[0] = cyc
	if _, err := mp.Marshal(nil, cyc); err == nil {
		t.Error("cyclic value accepted")
	}
	// Other types inside a JSON-ready container go to the library encoder.
	b, err = mp.Marshal(nil, map[string]any{"t": time.Unix(0, 5).UTC(), "i16": int16(-3)})
	if err != nil {
		t.Fatal(err)
	}
	got, err = mp.UnmarshalValue(b)
	if err != nil || !reflect.DeepEqual(got, map[string]any{"t": "1970-01-01T00:00:00.000000005Z", "i16": int64(-3)}) {
		t.Errorf("got %#v, %v", got, err)
	}
}

func TestMsgpackTypeMismatch(t *testing.T) {
	p, _ := codec.NewRegistry(codec.Limits{}).Pipeline("msgpack")
	b, _ := p.Marshal(nil, map[string]any{"qty": "three"})
	var it item
	err := p.Unmarshal(b, &it)
	if err == nil || errors.Is(err, codec.ErrCorrupt) || !strings.HasPrefix(err.Error(), "codec: msgpack: ") {
		t.Errorf("type mismatch: got %v", err)
	}
	for _, target := range []any{it, nil, (*item)(nil)} {
		if err := p.Unmarshal(b, target); err == nil || !strings.Contains(err.Error(), "pointer") {
			t.Errorf("%T: got %v", target, err)
		}
	}
}
