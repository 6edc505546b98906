package codec

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
	"unsafe"

	"github.com/jesus-go/jesus/internal/mpshape"
	"github.com/vmihailenco/msgpack/v5"
)

// Compiled plans for the msgpack serializer's commonest Go types. The library finds the
// encoder of every value by its type at run time (a sync.Map lookup per struct, per
// field type) and reads fields through reflect.Value; a plan is worked out once per type
// and then walks the value's memory directly. Plans cover the types messages are made
// of: structs whose fields carry `json` tags (name, omitempty), bool, the integer kinds,
// float64, string, []byte, slices, string-keyed maps and pointers of those, named or not.
// Any type that the library treats specially (its Custom/Marshaler interfaces, the
// encoding Binary/Text marshalers, IsZero methods, embedded fields, `msgpack` tags,
// interfaces, arrays, float32, time.Time) has no plan and is left to the library,
// whole. Types registered with msgpack.Register bypass the library's interfaces and are
// not seen here: give such a type one of those interfaces instead.
//
// A plan writes exactly the library's bytes (compact integers, str8 for strings of 32 to
// 255 bytes, bin for []byte, nil for nil slices, maps and pointers, struct fields in
// declaration order) and reads with MsgpackReader, the package's one msgpack parser. A
// read that fails, or that the library would read otherwise, is handed to the library
// (see msgpackSerializer.Unmarshal), so a plan never changes what a message decodes to.

// mpPlan is what the serializer knows about one Go type.
type mpPlan struct {
	typ reflect.Type
	// enc appends the value at p. It fails only when values nest deeper than
	// maxWriteDepth (a cycle through pointers).
	enc func(b []byte, p unsafe.Pointer, depth int) ([]byte, error)
	// dec reads the value whose token t has been read into the value at p.
	dec func(d *mpDec, t *MsgpackToken, p unsafe.Pointer) error
	// empty reports whether the value at p is empty for `omitempty`, as the library
	// decides it.
	empty func(p unsafe.Pointer) bool
	// shape is how the plan writes values (mpshape.Of).
	shape mpshape.Shape
	elem  *mpPlan // a pointer's: what it points to
	// direct: an interface holding a value of typ points to it (not pointer-shaped).
	direct bool
}

// mpField is a struct field of a plan.
type mpField struct {
	name      string
	hdr       []byte // the field's name, encoded
	off       uintptr
	omitEmpty bool
	plan      *mpPlan
}

// mpPlans holds the msgpack plans; a type without one is left to the library.
var mpPlans = planCache[mpPlan]{none: new(mpPlan)}

func init() {
	mpshape.Of = func(t reflect.Type) *mpshape.Shape {
		if t == reflect.TypeFor[json.Number]() {
			return nil // written as a number at the top (msgpackSerializer.Marshal)
		}
		if p := planOf(t); p != nil {
			return &p.shape
		}
		return nil
	}
}

// encodeHeld writes v, of type t whose plan is p, reading it through the interface: a
// pointer or a value behind the data word is read without taking v's address (which
// would move it to the heap on every call).
func (p *mpPlan) encodeHeld(b []byte, v any) ([]byte, error) {
	switch {
	case p.elem != nil:
		q := mpshape.Data(&v)
		if q == nil {
			return append(b, 0xc0), nil
		}
		return p.elem.enc(b, q, 1)
	case p.direct:
		return p.enc(b, mpshape.Data(&v), 0)
	}
	return encodePointerShaped(p, b, v)
}

// encodePointerShaped is encodeHeld for a value held in the data word itself that is not
// a pointer (a map, a struct of one pointer).
//
//go:noinline
func encodePointerShaped(p *mpPlan, b []byte, v any) ([]byte, error) {
	return p.enc(b, mpshape.ValuePointer(&v, p.typ), 0)
}

// planOf returns the plan of t, or nil when t is left to the library.
func planOf(t reflect.Type) *mpPlan {
	if p, known := mpPlans.load(t); known {
		return p
	}
	return mpPlans.of(t, func(t reflect.Type, building map[reflect.Type]*mpPlan) *mpPlan {
		return (&planCompiler{building: building}).plan(t)
	})
}

var (
	libraryTypes = []reflect.Type{
		reflect.TypeFor[msgpack.CustomEncoder](),
		reflect.TypeFor[msgpack.CustomDecoder](),
		reflect.TypeFor[msgpack.Marshaler](),
		reflect.TypeFor[msgpack.Unmarshaler](),
		reflect.TypeFor[encoding.BinaryMarshaler](),
		reflect.TypeFor[encoding.BinaryUnmarshaler](),
		reflect.TypeFor[encoding.TextMarshaler](),
		reflect.TypeFor[encoding.TextUnmarshaler](),
		reflect.TypeFor[interface{ IsZero() bool }](),
	}
)

// special reports whether the library treats t, or a pointer to it, in its own way.
func special(t reflect.Type) bool { return implementsAny(t, libraryTypes) }

// implementsAny reports whether t, or a pointer to it, implements one of the interfaces.
func implementsAny(t reflect.Type, interfaces []reflect.Type) bool {
	pt := reflect.PointerTo(t)
	for _, i := range interfaces {
		if t.Implements(i) || pt.Implements(i) {
			return true
		}
	}
	return false
}

type planCompiler struct {
	building map[reflect.Type]*mpPlan
}

// plan compiles the plan of t, or returns nil.
func (c *planCompiler) plan(t reflect.Type) *mpPlan {
	if p, ok := mpPlans.known(c.building, t); ok || special(t) {
		return p
	}
	p := &mpPlan{typ: t, direct: !mpshape.PointerShaped(t)}
	c.building[t] = p
	ok := true
	switch t.Kind() {
	case reflect.Bool:
		p.enc, p.dec, p.empty = encBool, decBool, func(p unsafe.Pointer) bool { return !*(*bool)(p) }
		p.shape.Kind = mpshape.Bool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		intPlan(p, t.Size())
		p.shape.Kind, p.shape.Size = mpshape.Int, t.Size()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		uintPlan(p, t.Size())
		p.shape.Kind, p.shape.Size = mpshape.Uint, t.Size()
	case reflect.Float64:
		p.enc, p.dec, p.empty = encFloat64, decFloat64, func(p unsafe.Pointer) bool { return *(*float64)(p) == 0 }
		p.shape.Kind = mpshape.Float
	case reflect.String:
		p.enc, p.dec, p.empty = encString, decString, func(p unsafe.Pointer) bool { return len(*(*string)(p)) == 0 }
		p.shape.Kind = mpshape.String
	default:
		ok = compoundPlan(c, p, t)
	}
	if !ok {
		delete(c.building, t)
		return nil
	}
	return p
}

func (c *planCompiler) structPlan(p *mpPlan, t reflect.Type) bool {
	var fields []mpField
	anyOmit := false
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.Anonymous || sf.Name == "_msgpack" || sf.Tag.Get("msgpack") != "" {
			return false // the library's inlining and options: left to it
		}
		tag := sf.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" && opts == "" {
			continue
		}
		if !sf.IsExported() {
			continue
		}
		omit := false
		for o := range strings.SplitSeq(opts, ",") {
			switch o {
			case "":
			case "omitempty":
				omit = true
			default:
				return false // options the library reads in its own way ("string", "inline", ...)
			}
		}
		if name == "" {
			name = sf.Name
		}
		fp := c.plan(sf.Type)
		if fp == nil {
			return false
		}
		anyOmit = anyOmit || omit
		fields = append(fields, mpField{name: name, hdr: append(appendStrHeader(nil, len(name)), name...), off: sf.Offset, omitEmpty: omit, plan: fp})
	}
	for i := range fields {
		for j := range i {
			if fields[i].name == fields[j].name {
				return false // duplicate names: the library decides which wins
			}
		}
	}
	p.enc = structEncoder(fields, anyOmit)
	p.shape.Kind = mpshape.Struct
	for _, f := range fields {
		p.shape.Fields = append(p.shape.Fields, mpshape.Field{Name: f.name, Off: f.off, OmitEmpty: f.omitEmpty, Empty: f.plan.empty, Shape: &f.plan.shape})
	}
	p.empty = func(ptr unsafe.Pointer) bool {
		// The library: a struct is empty when none of its fields would be written.
		for i := range fields {
			if !fields[i].omitEmpty || !fields[i].plan.empty(unsafe.Add(ptr, fields[i].off)) {
				return false
			}
		}
		return true
	}
	var always uint64 // the fields the plan always writes (for UnmarshalExact; at most 64)
	for i := range min(len(fields), 64) {
		if !fields[i].omitEmpty {
			always |= 1 << i
		}
	}
	names := make([]string, len(fields))
	for i := range fields {
		names[i] = fields[i].name
	}
	p.dec = func(d *mpDec, tok *MsgpackToken, ptr unsafe.Pointer) error {
		return d.structValue(tok, ptr, t, fields, names, always)
	}
	return true
}

// structEncoder writes a struct as a map of its fields, in declaration order, leaving out
// the empty ones marked omitempty.
func structEncoder(fields []mpField, anyOmit bool) func(b []byte, ptr unsafe.Pointer, depth int) ([]byte, error) {
	fixed := appendContainerHeader(nil, len(fields), 0x80, 0xde, 0xdf)
	return func(b []byte, ptr unsafe.Pointer, depth int) ([]byte, error) {
		if depth > maxWriteDepth {
			return b, errTooDeepToWrite
		}
		if !anyOmit {
			b = append(b, fixed...)
		} else {
			n := 0
			for i := range fields {
				if !fields[i].omitEmpty || !fields[i].plan.empty(unsafe.Add(ptr, fields[i].off)) {
					n++
				}
			}
			b = appendContainerHeader(b, n, 0x80, 0xde, 0xdf)
		}
		var err error
		for i := range fields {
			f := &fields[i]
			fp := unsafe.Add(ptr, f.off)
			if f.omitEmpty && f.plan.empty(fp) {
				continue
			}
			b = append(b, f.hdr...)
			if b, err = f.plan.enc(b, fp, depth+1); err != nil {
				return b, err
			}
		}
		return b, nil
	}
}

func (c *planCompiler) slicePlan(p *mpPlan, t reflect.Type) bool {
	p.empty = sliceEmpty
	if t.Elem().Kind() == reflect.Uint8 {
		if special(t.Elem()) {
			return false
		}
		p.enc, p.dec = encBytes, decBytes
		p.shape.Kind = mpshape.Bytes
		return true
	}
	ep := c.plan(t.Elem())
	if ep == nil {
		return false
	}
	size := t.Elem().Size()
	p.shape.Kind, p.shape.Size, p.shape.Elem = mpshape.Slice, size, &ep.shape
	p.enc = func(b []byte, ptr unsafe.Pointer, depth int) ([]byte, error) {
		s := (*sliceHeader)(ptr)
		if s.data == nil {
			return append(b, 0xc0), nil
		}
		if depth > maxWriteDepth {
			return b, errTooDeepToWrite
		}
		b = appendContainerHeader(b, s.len, 0x90, 0xdc, 0xdd)
		var err error
		for i := range s.len {
			if b, err = ep.enc(b, unsafe.Add(s.data, uintptr(i)*size), depth+1); err != nil {
				return b, err
			}
		}
		return b, nil
	}
	p.dec = func(d *mpDec, tok *MsgpackToken, ptr unsafe.Pointer) error {
		return d.sliceValue(tok, ptr, t, ep)
	}
	return true
}

func (c *planCompiler) mapPlan(p *mpPlan, t reflect.Type) bool {
	if !stringKeyed(t, special) {
		return false
	}
	ep := c.plan(t.Elem())
	if ep == nil {
		return false
	}
	p.empty = mapEmpty(t)
	p.shape.Kind, p.shape.Elem = mpshape.Map, &ep.shape
	p.enc = func(b []byte, ptr unsafe.Pointer, depth int) ([]byte, error) {
		m := reflect.NewAt(t, ptr).Elem()
		if m.IsNil() {
			return append(b, 0xc0), nil
		}
		if depth > maxWriteDepth {
			return b, errTooDeepToWrite
		}
		b = appendContainerHeader(b, m.Len(), 0x80, 0xde, 0xdf)
		v := reflect.New(t.Elem()).Elem()
		var err error
		for it := m.MapRange(); it.Next(); {
			k := it.Key().String()
			b = append(appendStrHeader(b, len(k)), k...)
			v.SetIterValue(it)
			if b, err = ep.enc(b, v.Addr().UnsafePointer(), depth+1); err != nil {
				return b, err
			}
		}
		return b, nil
	}
	p.dec = func(d *mpDec, tok *MsgpackToken, ptr unsafe.Pointer) error {
		return d.mapValue(tok, ptr, t, ep)
	}
	return true
}

func (c *planCompiler) pointerPlan(p *mpPlan, t reflect.Type) bool {
	if t.Elem().Kind() == reflect.Pointer {
		return false
	}
	ep := c.plan(t.Elem())
	if ep == nil {
		return false
	}
	p.empty = func(ptr unsafe.Pointer) bool { return *(*unsafe.Pointer)(ptr) == nil }
	p.shape.Kind, p.shape.Elem = mpshape.Pointer, &ep.shape
	p.elem = ep
	p.enc = func(b []byte, ptr unsafe.Pointer, depth int) ([]byte, error) {
		q := *(*unsafe.Pointer)(ptr)
		if q == nil {
			return append(b, 0xc0), nil
		}
		return ep.enc(b, q, depth+1)
	}
	elem := t.Elem()
	p.dec = func(d *mpDec, tok *MsgpackToken, ptr unsafe.Pointer) error {
		if tok.Kind == MsgpackNil {
			*(*unsafe.Pointer)(ptr) = nil
			return nil
		}
		return ep.dec(d, tok, pointee(ptr, elem))
	}
	return true
}

// fieldIndex returns the index of the field named key among names, the fields of a struct
// plan: i first (the order the writer uses), else the first of that name; -1 when none.
func fieldIndex(names []string, i int, key []byte) int {
	if i < len(names) && names[i] == string(key) {
		return i
	}
	for j, n := range names {
		if n == string(key) {
			return j
		}
	}
	return -1
}

// sliceEmpty is the empty test of a slice for omitempty: of length 0.
func sliceEmpty(ptr unsafe.Pointer) bool { return (*sliceHeader)(ptr).len == 0 }

// mapEmpty returns the empty test of a map of type t for omitempty: of length 0.
func mapEmpty(t reflect.Type) func(unsafe.Pointer) bool {
	return func(ptr unsafe.Pointer) bool { return reflect.NewAt(t, ptr).Elem().Len() == 0 }
}

// stringKeyed reports whether the plans read maps of type t: keys of kind string that the
// library behind the plan (special) does not treat its own way.
func stringKeyed(t reflect.Type, special func(reflect.Type) bool) bool {
	return t.Key().Kind() == reflect.String && !special(t.Key())
}

// pointee returns what the pointer at ptr points to, first pointing it at a new zero
// value of elem when it is nil: a decode into a pointer keeps the value it points to.
func pointee(ptr unsafe.Pointer, elem reflect.Type) unsafe.Pointer {
	q := *(*unsafe.Pointer)(ptr)
	if q == nil {
		q = reflect.New(elem).UnsafePointer()
		*(*unsafe.Pointer)(ptr) = q
	}
	return q
}

// sliceHeader is the memory layout of a slice.
type sliceHeader struct {
	data unsafe.Pointer
	len  int
	cap  int
}
