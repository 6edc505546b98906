package mpshape_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"unsafe"

	_ "github.com/jesus-go/jesus/codec" // fills in mpshape.Of
	"github.com/jesus-go/jesus/internal/mpshape"
)

type money struct {
	Amount   float64 `json:"amount"`
	Currency string  `json:"currency,omitempty"`
	internal int
}

type node struct {
	Name string  `json:"name"`
	Kids []node  `json:"kids"`
	Up   *node   `json:"up,omitempty"`
	Tags []byte  `json:"tags"`
	M    money   `json:"m"`
	N    int16   `json:"n"`
	U    uint32  `json:"u"`
	Skip float64 `json:"-"`
}

// TestOf: a shape says how codec's msgpack serializer writes a type, recursive types
// included; types it leaves to the library have none.
func TestOf(t *testing.T) {
	s := mpshape.Of(reflect.TypeFor[node]())
	if s == nil || s.Kind != mpshape.Struct || len(s.Fields) != 7 {
		t.Fatalf("shape of node: %+v", s)
	}
	f := s.Fields
	if f[0].Name != "name" || f[0].Shape.Kind != mpshape.String ||
		f[1].Shape.Kind != mpshape.Slice || f[1].Shape.Elem != s || f[1].Shape.Size != unsafe.Sizeof(node{}) ||
		f[2].Name != "up" || !f[2].OmitEmpty || f[2].Shape.Kind != mpshape.Pointer || f[2].Shape.Elem != s ||
		f[3].Shape.Kind != mpshape.Bytes || f[4].Shape.Kind != mpshape.Struct || len(f[4].Shape.Fields) != 2 ||
		f[5].Shape.Kind != mpshape.Int || f[5].Shape.Size != 2 || f[6].Shape.Kind != mpshape.Uint || f[6].Shape.Size != 4 {
		t.Fatalf("fields of node: %+v", f)
	}
	if f[5].Off != unsafe.Offsetof(node{}.N) {
		t.Errorf("offset of n: %d, want %d", f[5].Off, unsafe.Offsetof(node{}.N))
	}
	var x node
	if !f[2].Empty(unsafe.Pointer(&x.Up)) {
		t.Error("a nil pointer is not empty")
	}
	for _, typ := range []reflect.Type{reflect.TypeFor[any](), reflect.TypeFor[json.Number](), reflect.TypeFor[[2]int](), reflect.TypeFor[float32]()} {
		if s := mpshape.Of(typ); s != nil {
			t.Errorf("%v has a shape %+v; the library writes it", typ, s)
		}
	}
}

// TestValuePointer: the pointer reaches the value an interface holds, whether it holds
// it directly (pointer-shaped) or behind its data word.
func TestValuePointer(t *testing.T) {
	m := money{Amount: 2}
	var v any = m
	if got := (*money)(mpshape.ValuePointer(&v, reflect.TypeOf(v))); got.Amount != 2 {
		t.Errorf("struct: %+v", got)
	}
	v = &m
	if got := *(**money)(mpshape.ValuePointer(&v, reflect.TypeOf(v))); got != &m {
		t.Errorf("pointer: %p, want %p", got, &m)
	}
	type wrap struct{ p *money }
	v = wrap{&m}
	if got := (*wrap)(mpshape.ValuePointer(&v, reflect.TypeOf(v))); got.p != &m {
		t.Errorf("pointer-shaped struct: %+v", got)
	}
}
