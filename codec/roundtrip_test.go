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

func TestMediaTypes(t *testing.T) {
	for _, c := range []struct{ mt, want string }{
		{"application/json", "json"}, {"Application/JSON", "json"},
		{"application/msgpack", "msgpack"}, {"application/x-msgpack", "msgpack"}, {"application/vnd.msgpack", "msgpack"},
	} {
		if got, ok := codec.SerializerOf(c.mt); !ok || got != c.want {
			t.Errorf("SerializerOf(%q) = %q %v", c.mt, got, ok)
		}
	}
	if _, ok := codec.SerializerOf("text/plain"); ok {
		t.Error("text/plain has a serializer")
	}
	for _, name := range codec.SerializerNames() {
		got, ok := codec.SerializerOf(codec.MediaType(name))
		if !ok || got != name {
			t.Errorf("%s: media type %q maps back to %q", name, codec.MediaType(name), got)
		}
		p, err := codec.NewRegistry(codec.Limits{}).Pipeline(name)
		if err != nil || p.ContentType() != codec.MediaType(name) {
			t.Errorf("%s: pipeline content type %v %v", name, p, err)
		}
	}
}

type upperJSON struct{ codec.Serializer }

// TestRegister: the names are closed; an implementation may replace one, not add one.
func TestRegister(t *testing.T) {
	r := codec.NewRegistry(codec.Limits{})
	base, _ := r.Pipeline("json")
	before, _ := r.Pipeline("json+zstd")
	if err := r.RegisterSerializer(upperJSON{base.Serializer()}); err != nil {
		t.Fatal(err)
	}
	p, err := r.Pipeline("json+zstd")
	if err != nil || p == before || p.Name() != "json+zstd" {
		t.Fatalf("replaced json: %v %v", p, err)
	}
	if err := r.RegisterSerializer(nil); err == nil {
		t.Error("nil serializer accepted")
	}
	for _, name := range []string{"a+b", "snappy", ""} {
		if err := r.RegisterCompressor(named{codec.NewS2(), name}); !errors.Is(err, codec.ErrUnknown) {
			t.Errorf("compressor %q: want ErrUnknown, got %v", name, err)
		}
	}
	if err := r.RegisterCompressor(named{codec.NewS2(), "s2"}); err != nil {
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
