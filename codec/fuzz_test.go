package codec_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/jesus-go/jesus/codec"
)

// The fuzz targets use tight limits so that the fuzzer reaches them.
var fuzzLimits = codec.Limits{MaxDecompressed: 1 << 16, MaxDepth: 16, MaxZstdWindow: 1 << 16}

func valueDepth(v any) int {
	d := 0
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			d = max(d, valueDepth(e))
		}
		return d + 1
	case map[string]any:
		for _, e := range v {
			d = max(d, valueDepth(e))
		}
		return d + 1
	}
	return 0
}

// fuzzRegistry is a registry with fuzzLimits; it seeds f with messages of its pipelines
// and a few hostile ones.
func fuzzRegistry(f *testing.F) *codec.Registry {
	r := codec.NewRegistry(fuzzLimits)
	for _, s := range serializers() {
		for _, c := range compressors() {
			p, err := r.Pipeline(s + "+" + c)
			if err != nil {
				f.Fatal(err)
			}
			for _, v := range []any{sampleOrder(2), map[string]any{"a": []any{1, "x", nil, true, 2.5}}, "s", nil} {
				b, err := p.Marshal(nil, v)
				if err != nil {
					f.Fatal(err)
				}
				f.Add(b)
			}
		}
	}
	f.Add([]byte{0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0x91, 0x91, 0x91, 0x91, 0x80})
	f.Add([]byte{0xd7, 0xff, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Add([]byte(`[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]`))
	f.Add([]byte(`{"a":1e400,"b":"\ud800"}`))
	return r
}

// decodeValue decodes data with p as a value, and (to find panics) into an order.
func decodeValue(p *codec.Pipeline, data []byte) (any, error) {
	v, err := p.UnmarshalValue(data)
	var o order
	_ = p.Unmarshal(data, &o)
	return v, err
}

// FuzzPipelineDecode feeds the same bytes to every pipeline: nothing may panic, what
// decodes is JSON-ready and within the limits, and Unmarshal into *any agrees with
// UnmarshalValue.
func FuzzPipelineDecode(f *testing.F) {
	r := fuzzRegistry(f)
	var ps []*codec.Pipeline
	for _, s := range serializers() {
		for _, c := range compressors() {
			p, _ := r.Pipeline(s + "+" + c)
			ps = append(ps, p)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, p := range ps {
			raw, err := p.Decompress(nil, data)
			if err == nil && len(raw) > fuzzLimits.MaxDecompressed {
				t.Fatalf("%s: decompressed %d bytes, limit %d", p.Name(), len(raw), fuzzLimits.MaxDecompressed)
			}
			v, err := p.UnmarshalValue(data)
			if err == nil {
				if err := jsonReady(v, 0); err != nil {
					t.Fatalf("%s: %v", p.Name(), err)
				}
				if d := valueDepth(v); d > fuzzLimits.MaxDepth {
					t.Fatalf("%s: depth %d over the limit", p.Name(), d)
				}
			}
			var a any
			err2 := p.Unmarshal(data, &a)
			if (err == nil) != (err2 == nil) || !reflect.DeepEqual(v, a) {
				t.Fatalf("%s: UnmarshalValue (%v) and Unmarshal(*any) (%v) disagree", p.Name(), err, err2)
			}
			var o order
			_ = p.Unmarshal(data, &o)
			var m map[string]any
			_ = p.Unmarshal(data, &m)
			var s []any
			_ = p.Unmarshal(data, &s)
		}
	})
}

// checkValue checks a value p decoded: JSON-ready, within the depth limit, and unchanged
// by a round trip through p.
func checkValue(t *testing.T, p *codec.Pipeline, v any) {
	t.Helper()
	if err := jsonReady(v, 0); err != nil {
		t.Fatal(err)
	}
	if d := valueDepth(v); d > fuzzLimits.MaxDepth {
		t.Fatalf("depth %d over the limit", d)
	}
	b, err := p.Marshal(nil, v)
	if err != nil {
		t.Fatalf("re-encoding %#v: %v", v, err)
	}
	v2, err := p.UnmarshalValue(b)
	if err != nil {
		t.Fatalf("decoding the re-encoded value %q: %v", b, err)
	}
	if !reflect.DeepEqual(v, v2) {
		t.Fatalf("round trip changed the value:\n%#v\n%#v", v, v2)
	}
}

// FuzzMsgpackValue checks the msgpack value decoder: no panic, JSON-ready results within
// the depth limit, and what it returns survives a round trip unchanged.
func FuzzMsgpackValue(f *testing.F) {
	p, _ := fuzzRegistry(f).Pipeline("msgpack")
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := decodeValue(p, data)
		var m map[string]any
		_ = p.Unmarshal(data, &m)
		if err != nil {
			if !errors.Is(err, codec.ErrCorrupt) && !errors.Is(err, codec.ErrTooLarge) && !errors.Is(err, codec.ErrTooDeep) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		checkValue(t, p, v)
	})
}

// FuzzJSONValue checks the JSON value decoder: no panic, it accepts exactly the valid JSON
// within the depth limit, and what it returns survives a round trip unchanged.
func FuzzJSONValue(f *testing.F) {
	r := fuzzRegistry(f)
	p, _ := r.Pipeline("json")
	mp, _ := r.Pipeline("msgpack")
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := decodeValue(p, data)
		valid := json.Valid(data)
		if err != nil {
			if valid && !errors.Is(err, codec.ErrTooDeep) && !errors.Is(err, codec.ErrTooLarge) {
				t.Fatalf("valid JSON refused: %v", err)
			}
			return
		}
		if !valid {
			t.Fatalf("invalid JSON accepted: %q", data)
		}
		checkValue(t, p, v)
		// The value crosses to msgpack, unless a number does not fit a float64.
		mb, err := mp.Marshal(nil, v)
		if err != nil {
			if !strings.Contains(err.Error(), "does not fit") {
				t.Fatalf("msgpack: %v", err)
			}
			return
		}
		if _, err := mp.UnmarshalValue(mb); err != nil {
			t.Fatalf("msgpack value of %q: %v", data, err)
		}
	})
}
