// Package mpshape describes how a serializer writes a Go type, field by field, so that a
// check can read a Go value the way it would read that value's bytes, without writing
// them: Of for the msgpack serializer (codec fills it in; a type it leaves to the msgpack
// library has no shape), JSONOf for encoding/json.
//
// A shape says only what the bytes would be: a struct is a map of its fields in
// declaration order, without the empty ones marked omitempty; a nil slice, map or
// pointer is nil; an integer is an integer, a float64 a float64, []byte a bin.
package mpshape

import (
	"reflect"
	"unsafe"
)

// Kind is what a value of a shape is written as.
type Kind uint8

const (
	Bool    Kind = iota + 1
	Int          // a signed integer of Size bytes
	Uint         // an unsigned integer of Size bytes
	Float        // a float64
	String       // a str
	Bytes        // []byte: a bin, or nil
	Slice        // an array of Elem, or nil
	Map          // a map with string keys and Elem values, or nil
	Pointer      // Elem, or nil
	Struct       // a map of Fields
)

// Shape is how values of one Go type are written. Shapes of recursive types are
// recursive.
type Shape struct {
	Kind Kind
	// Size is the width of an Int or Uint, in bytes, and the size of a Slice's element.
	Size   uintptr
	Elem   *Shape
	Fields []Field
	// ValidUTF8 marks a String the serializer writes as it is only when it is valid
	// UTF-8 (encoding/json replaces bad bytes with U+FFFD).
	ValidUTF8 bool
}

// IntReader returns the reader of a signed integer of size bytes (1, 2, 4 or 8),
// sign-extended; an Uint's bits are the same, masked to its width.
func IntReader(size uintptr) func(unsafe.Pointer) int64 {
	switch size {
	case 1:
		return func(p unsafe.Pointer) int64 { return int64(*(*int8)(p)) }
	case 2:
		return func(p unsafe.Pointer) int64 { return int64(*(*int16)(p)) }
	case 4:
		return func(p unsafe.Pointer) int64 { return int64(*(*int32)(p)) }
	}
	return func(p unsafe.Pointer) int64 { return *(*int64)(p) }
}

// Field is a struct field as written: its name, where it is in the struct and whether it
// is left out when Empty says so.
type Field struct {
	Name      string
	Off       uintptr
	OmitEmpty bool
	// Empty reports whether the field's value, at the pointer, is empty for omitempty.
	Empty func(unsafe.Pointer) bool
	Shape *Shape
}

// Of returns the shape of t, or nil when the serializer leaves t to the library (codec
// sets it).
var Of = func(reflect.Type) *Shape { return nil }

// SliceHeader is the memory layout of a slice.
type SliceHeader struct {
	Data unsafe.Pointer
	Len  int
	Cap  int
}

// eface is the memory layout of an interface{} value.
type eface struct {
	typ  unsafe.Pointer
	data unsafe.Pointer
}

// ValuePointer returns a pointer to the value held by *v, of type t (reflect.TypeOf(*v)),
// without copying it: an interface holds a pointer-shaped value in its data word itself,
// any other value behind the pointer in that word. For a pointer-shaped value the result
// points into *v, which then escapes: where t is a pointer type, Data gives the pointer
// itself without that cost.
func ValuePointer(v *any, t reflect.Type) unsafe.Pointer {
	e := (*eface)(unsafe.Pointer(v))
	if PointerShaped(t) {
		return unsafe.Pointer(&e.data)
	}
	return e.data
}

// Data returns the data word of *v: the value itself for a pointer-shaped type (a
// pointer, for one), else a pointer to the value. It reads *v and keeps nothing of it.
func Data(v *any) unsafe.Pointer {
	return (*eface)(unsafe.Pointer(v)).data
}

// PointerShaped reports whether the compiler stores values of t in an interface's data
// word directly: pointers and maps, and structs and arrays that hold just one of those.
func PointerShaped(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Chan, reflect.Func, reflect.UnsafePointer:
		return true
	case reflect.Struct:
		if t.NumField() != 1 {
			return false
		}
		return PointerShaped(t.Field(0).Type)
	case reflect.Array:
		return t.Len() == 1 && PointerShaped(t.Elem())
	}
	return false
}
