package mpshape

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"unicode"
	"unsafe"
)

// JSONOf returns the shape of what encoding/json writes for values of t, or nil where
// that is not a plain reading of the value's memory: a type with its own marshaling
// (json.Marshaler, encoding.TextMarshaler, json.Number), an interface, an array, a
// float32, a map with keys other than strings, an embedded field, a field tagged
// ",string" or ",omitzero", a tag name encoding/json would not take, two fields of one
// name, or any type that holds one of those.
//
// The shapes differ from msgpack's where encoding/json writes differently: a field is
// empty for omitempty when it is false, 0, a nil pointer or of length 0 (a struct never
// is); []byte is base64 text (a Bytes shape: only nil, written null, reads plainly); a
// String is marked ValidUTF8, since encoding/json replaces invalid UTF-8 with U+FFFD.
func JSONOf(t reflect.Type) *Shape {
	if s, ok := jsonShapes.Load(t); ok {
		return s.(*Shape)
	}
	b := jsonBuilder{seen: map[reflect.Type]*Shape{}}
	s := b.shape(t)
	if b.refused {
		s = nil
	}
	jsonShapes.LoadOrStore(t, s)
	return s
}

var jsonShapes sync.Map // reflect.Type -> *Shape (nil: none)

type jsonBuilder struct {
	seen    map[reflect.Type]*Shape // built or being built (recursive types)
	refused bool                    // a part has no shape: the whole has none
}

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
	jsonNumber    = reflect.TypeFor[json.Number]()
)

// shape returns the shape of t, setting b.refused when t has none.
func (b *jsonBuilder) shape(t reflect.Type) *Shape {
	if s, ok := b.seen[t]; ok {
		return s
	}
	if t == jsonNumber || t.Implements(jsonMarshaler) || t.Implements(textMarshaler) ||
		t.Kind() != reflect.Pointer && (reflect.PointerTo(t).Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(textMarshaler)) {
		b.refused = true
		return nil
	}
	s := &Shape{Size: t.Size()}
	b.seen[t] = s
	switch t.Kind() {
	case reflect.Bool:
		s.Kind = Bool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		s.Kind = Int
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		s.Kind = Uint
	case reflect.Float64:
		s.Kind = Float
	case reflect.String:
		s.Kind, s.ValidUTF8 = String, true
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 && !reflect.PointerTo(t.Elem()).Implements(jsonMarshaler) && !reflect.PointerTo(t.Elem()).Implements(textMarshaler) {
			s.Kind = Bytes // base64 text
			break
		}
		s.Kind, s.Size, s.Elem = Slice, t.Elem().Size(), b.shape(t.Elem())
	case reflect.Map:
		if t.Key() != reflect.TypeFor[string]() {
			b.refused = true
			return nil
		}
		s.Kind, s.Elem = Map, b.shape(t.Elem())
	case reflect.Pointer:
		s.Kind, s.Elem = Pointer, b.shape(t.Elem())
	case reflect.Struct:
		s.Kind = Struct
		b.fields(s, t)
	default: // interfaces, arrays, float32, complex numbers, channels, functions
		b.refused = true
		return nil
	}
	return s
}

// fields fills the fields of the struct shape s of t, as encoding/json names them.
func (b *jsonBuilder) fields(s *Shape, t reflect.Type) {
	names := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			b.refused = true // promoted fields: encoding/json's rules of depth and dominance
			return
		}
		jf, written := JSONFieldOf(f)
		if !written {
			continue
		}
		if jf.String || jf.OmitZero {
			b.refused = true
			return
		}
		name, omit := jf.Name, jf.OmitEmpty
		if names[name] {
			b.refused = true
			return
		}
		names[name] = true
		fs := b.shape(f.Type)
		if b.refused {
			return
		}
		field := Field{Name: name, Off: f.Offset, Shape: fs}
		if omit && f.Type.Kind() != reflect.Struct {
			field.OmitEmpty, field.Empty = true, jsonEmpty(f.Type)
		}
		s.Fields = append(s.Fields, field)
	}
}

// jsonEmpty returns encoding/json's test of omitempty for values of t: false, 0, a nil
// pointer, or of length 0.
func jsonEmpty(t reflect.Type) func(unsafe.Pointer) bool {
	switch t.Kind() {
	case reflect.Bool:
		return func(p unsafe.Pointer) bool { return !*(*bool)(p) }
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		get := IntReader(t.Size())
		return func(p unsafe.Pointer) bool { return get(p) == 0 }
	case reflect.Float64:
		return func(p unsafe.Pointer) bool { return *(*float64)(p) == 0 }
	case reflect.String:
		return func(p unsafe.Pointer) bool { return len(*(*string)(p)) == 0 }
	case reflect.Slice:
		return func(p unsafe.Pointer) bool { return (*SliceHeader)(p).Len == 0 }
	case reflect.Map:
		return func(p unsafe.Pointer) bool { return reflect.NewAt(t, p).Elem().Len() == 0 }
	case reflect.Pointer:
		return func(p unsafe.Pointer) bool { return *(*unsafe.Pointer)(p) == nil }
	}
	return func(unsafe.Pointer) bool { return false }
}

// JSONField is what a struct field's json tag tells encoding/json.
type JSONField struct {
	Name                        string // the member's name: the tag's when valid, else the field's
	OmitEmpty, OmitZero, String bool   // its options
}

// JSONFieldOf reads f as encoding/json does; written is false for a field it writes no
// member for (unexported, or tagged "-"). An embedded field is the caller's to handle:
// encoding/json promotes its fields.
func JSONFieldOf(f reflect.StructField) (jf JSONField, written bool) {
	if !f.IsExported() {
		return jf, false
	}
	tag := f.Tag.Get("json")
	if tag == "-" {
		return jf, false
	}
	name, opts, _ := strings.Cut(tag, ",")
	if name == "" || !ValidJSONTag(name) {
		name = f.Name
	}
	jf.Name = name
	for o := range strings.SplitSeq(opts, ",") {
		switch o {
		case "omitempty":
			jf.OmitEmpty = true
		case "omitzero":
			jf.OmitZero = true
		case "string":
			jf.String = true
		}
	}
	return jf, true
}

// ValidJSONTag is encoding/json's test of the name of a json tag: a name it does not take
// leaves the field under its Go name.
func ValidJSONTag(s string) bool {
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}
