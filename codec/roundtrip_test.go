package codec_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jesus-go/jesus/codec"
)

type item struct {
	SKU   string  `json:"sku"`
	Name  string  `json:"name"`
	Qty   int     `json:"qty"`
	Price float64 `json:"price"`
}

type order struct {
	ID       string            `json:"id"`
	Customer string            `json:"customer"`
	Total    float64           `json:"total"`
	Paid     bool              `json:"paid"`
	Created  time.Time         `json:"created"`
	Items    []item            `json:"items"`
	Tags     map[string]string `json:"tags,omitempty"`
	Note     string            `json:"note,omitempty"`
	Skip     string            `json:"-"`
	Extra    any               `json:"extra,omitempty"`
}

func serializers() []string { return []string{"json", "msgpack"} }
func compressors() []string { return []string{"none", "gzip", "zstd", "s2"} }

func pipelines(t testing.TB, r *codec.Registry) []*codec.Pipeline {
	t.Helper()
	var ps []*codec.Pipeline
	for _, s := range serializers() {
		for _, c := range compressors() {
			p, err := r.Pipeline(s + "+" + c)
			if err != nil {
				t.Fatal(err)
			}
			ps = append(ps, p)
		}
	}
	return ps
}

func sampleOrder(items int) order {
	o := order{
		ID: "ord-1042", Customer: "c-77 <acme & co>", Total: 0, Paid: true,
		Created: time.Date(2026, 11, 22, 9, 30, 0, 123456789, time.UTC),
		Tags:    map[string]string{"channel": "web", "region": "eu-west"},
	}
	for i := range items {
		it := item{SKU: fmt.Sprintf("SKU-%05d", i), Name: fmt.Sprintf("Widget no. %d", i), Qty: i%5 + 1, Price: 9.99 + float64(i)}
		o.Items = append(o.Items, it)
		o.Total += float64(it.Qty) * it.Price
	}
	return o
}

func TestRoundTripStruct(t *testing.T) {
	r := codec.NewRegistry(codec.Limits{})
	for _, p := range pipelines(t, r) {
		t.Run(p.Name(), func(t *testing.T) {
			want := sampleOrder(3)
			want.Extra = map[string]any{"k": "v"}
			b, err := p.Marshal([]byte("prefix"), want)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(b), "prefix") {
				t.Fatalf("Marshal did not append to dst")
			}
			var got order
			if err := p.Unmarshal(b[len("prefix"):], &got); err != nil {
				t.Fatal(err)
			}
			want.Skip = ""
			if !got.Created.Equal(want.Created) {
				t.Fatalf("created: got %v want %v", got.Created, want.Created)
			}
			got.Created, want.Created = time.Time{}, time.Time{}
			if !reflect.DeepEqual(got.Extra, map[string]any{"k": "v"}) {
				t.Fatalf("extra: got %#v", got.Extra)
			}
			got.Extra, want.Extra = nil, nil
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestRoundTripMap(t *testing.T) {
	r := codec.NewRegistry(codec.Limits{})
	in := map[string]any{
		"s": "text", "i": -42, "u": uint64(1 << 63), "f": 1.5, "b": true, "n": nil,
		"a": []any{1, "two", 3.25, []any{}}, "m": map[string]any{"x": map[string]any{}},
	}
	want := map[string]any{
		"s": "text", "i": int64(-42), "u": uint64(1 << 63), "f": 1.5, "b": true, "n": nil,
		"a": []any{int64(1), "two", 3.25, []any{}}, "m": map[string]any{"x": map[string]any{}},
	}
	wantJSON := map[string]any{
		"s": "text", "i": json.Number("-42"), "u": json.Number("9223372036854775808"), "f": json.Number("1.5"),
		"b": true, "n": nil, "a": []any{json.Number("1"), "two", json.Number("3.25"), []any{}},
		"m": map[string]any{"x": map[string]any{}},
	}
	for _, p := range pipelines(t, r) {
		t.Run(p.Name(), func(t *testing.T) {
			b, err := p.Marshal(nil, in)
			if err != nil {
				t.Fatal(err)
			}
			exp := want
			if p.Serializer().Name() == "json" {
				exp = wantJSON
			}
			v, err := p.UnmarshalValue(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(v, exp) {
				t.Fatalf("UnmarshalValue:\n got %#v\nwant %#v", v, exp)
			}
			var a any
			if err := p.Unmarshal(b, &a); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(a, exp) {
				t.Fatalf("Unmarshal(*any):\n got %#v\nwant %#v", a, exp)
			}
			var m map[string]any
			if err := p.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(m, exp) {
				t.Fatalf("Unmarshal(*map):\n got %#v\nwant %#v", m, exp)
			}
		})
	}
}

func TestPipelineNames(t *testing.T) {
	r := codec.NewRegistry(codec.Limits{})
	cases := []struct{ in, name, ctype, cenc string }{
		{"msgpack+zstd", "msgpack+zstd", "application/msgpack", "zstd"},
		{"json+gzip", "json+gzip", "application/json", "gzip"},
		{"json", "json", "application/json", ""},
		{"msgpack+none", "msgpack", "application/msgpack", ""},
		{"json+s2", "json+s2", "application/json", "s2"},
	}
	for _, c := range cases {
		p, err := r.Pipeline(c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		if p.Name() != c.name || p.ContentType() != c.ctype || p.ContentEncoding() != c.cenc {
			t.Errorf("%s: got %q %q %q", c.in, p.Name(), p.ContentType(), p.ContentEncoding())
		}
		q, _ := r.Pipeline(c.in)
		if p != q {
			t.Errorf("%s: not cached", c.in)
		}
	}
	for _, bad := range []string{"", "xml", "json+lz4", "+zstd", "json+", "json+zstd+s2", "JSON"} {
		_, err := r.Pipeline(bad)
		if !errors.Is(err, codec.ErrUnknown) {
			t.Errorf("%q: want ErrUnknown, got %v", bad, err)
			continue
		}
		t.Logf("%q: %v", bad, err)
	}
	_, err := r.Pipeline("json+lz4")
	if msg := err.Error(); !strings.Contains(msg, `"lz4"`) || !strings.Contains(msg, "gzip, none, s2, zstd") {
		t.Errorf("error does not name the part and the choices: %v", err)
	}
	_, err = r.Pipeline("xml+gzip")
	if msg := err.Error(); !strings.Contains(msg, `"xml"`) || !strings.Contains(msg, "json, msgpack") {
		t.Errorf("error does not name the part and the choices: %v", err)
	}
}

func TestUnknownNamesAreNotCached(t *testing.T) {
	r := codec.NewRegistry(codec.Limits{})
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := r.Pipeline("msgpack+zstd"); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("cached Pipeline lookup allocates %v times", allocs)
	}
	for i := range 10000 {
		if _, err := r.Pipeline(fmt.Sprintf("json+x%d", i)); err == nil {
			t.Fatal("want error")
		}
	}
	// The cache still answers known names after a flood of unknown ones.
	if _, err := r.Pipeline("json+gzip"); err != nil {
		t.Fatal(err)
	}
}

func TestFromHTTP(t *testing.T) {
	r := codec.NewRegistry(codec.Limits{})
	cases := []struct{ ct, ce, want string }{
		{"application/json; charset=utf-8", "", "json"},
		{"application/json", "identity", "json"},
		{"Application/JSON", "gzip", "json+gzip"},
		{"application/msgpack", "zstd", "msgpack+zstd"},
		{"application/x-msgpack", "s2", "msgpack+s2"},
		{"application/vnd.msgpack", "", "msgpack"},
		{"application/json", "x-gzip", "json+gzip"},
	}
	for _, c := range cases {
		p, err := r.FromHTTP(c.ct, c.ce)
		if err != nil {
			t.Fatalf("%q %q: %v", c.ct, c.ce, err)
		}
		if p.Name() != c.want {
			t.Errorf("%q %q: got %s want %s", c.ct, c.ce, p.Name(), c.want)
		}
	}
	for _, c := range [][2]string{{"text/plain", ""}, {"", ""}, {"application/json", "br"}, {"application/json", "gzip, zstd"}} {
		if _, err := r.FromHTTP(c[0], c[1]); !errors.Is(err, codec.ErrUnknown) {
			t.Errorf("%q %q: want ErrUnknown, got %v", c[0], c[1], err)
		}
	}
}

type upperJSON struct{ codec.Serializer }

func (upperJSON) Name() string        { return "ujson" }
func (upperJSON) ContentType() string { return "application/x-ujson" }

func TestRegister(t *testing.T) {
	r := codec.NewRegistry(codec.Limits{})
	base, _ := r.Pipeline("json")
	if err := r.RegisterSerializer(upperJSON{base.Serializer()}); err != nil {
		t.Fatal(err)
	}
	p, err := r.Pipeline("ujson+zstd")
	if err != nil {
		t.Fatal(err)
	}
	if p.Name() != "ujson+zstd" {
		t.Fatal(p.Name())
	}
	if q, err := r.FromHTTP("application/x-ujson", "zstd"); err != nil || q.Name() != "ujson+zstd" {
		t.Fatalf("FromHTTP: %v %v", q, err)
	}
	if err := r.RegisterSerializer(nil); err == nil {
		t.Error("nil serializer accepted")
	}
	if err := r.RegisterCompressor(named{codec.NewS2(), "a+b"}); err == nil {
		t.Error("name with '+' accepted")
	}
	if err := r.RegisterCompressor(named{codec.NewS2(), "snappy"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Pipeline("msgpack+snappy"); err != nil {
		t.Fatal(err)
	}
	if got := r.Limits(); got != codec.DefaultLimits() {
		t.Errorf("Limits() = %+v", got)
	}
}

type named struct {
	codec.Compressor
	name string
}

func (n named) Name() string { return n.name }
